#include "sim/renderer.h"

#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>

#include "sim/error.h"
#include "sim/gl_context.h"

namespace darkmatter::sim {
namespace {

// MuJoCo render contexts of this thread, one per model, with an offscreen buffer at least
// as large as any requested image. Freed (GL context current) when the thread exits.
class ThreadRenderContexts {
 public:
  ~ThreadRenderContexts() {
    if (contexts_.empty()) return;
    MakeThreadGlContextCurrent();
    for (auto& [model, entry] : contexts_) mjr_freeContext(&entry.context);
  }
  // The context for `model` with an offscreen buffer of at least width x height and
  // `samples` multisamples.
  mjrContext* Get(const ModelPtr& model, int width, int height, int samples) {
    Entry& entry = contexts_[{model.get(), samples}];
    const bool stale = entry.model.lock() != model;  // a new model at a reused address
    if (stale || entry.width < width || entry.height < height) {
      if (entry.created) mjr_freeContext(&entry.context);
      entry.width = std::max(stale ? 0 : entry.width, width);
      entry.height = std::max(stale ? 0 : entry.height, height);
      mjModel sized = *model;  // shallow copy: only the offscreen size differs
      sized.vis.global.offwidth = entry.width;
      sized.vis.global.offheight = entry.height;
      sized.vis.quality.offsamples = samples;
      mjr_defaultContext(&entry.context);
      mjr_makeContext(&sized, &entry.context, mjFONTSCALE_100);
      entry.created = true;
      entry.model = model;
    }
    mjr_setBuffer(mjFB_OFFSCREEN, &entry.context);
    return &entry.context;
  }

 private:
  struct Entry {
    std::weak_ptr<const mjModel> model;
    mjrContext context;
    int width = 0, height = 0;
    bool created = false;
  };
  std::map<std::pair<const mjModel*, int>, Entry> contexts_;
};

thread_local ThreadRenderContexts thread_contexts;

// MuJoCo geom types of Primitive::Shape, in enum order.
constexpr int kPrimitiveTypes[] = {mjGEOM_PLANE,     mjGEOM_SPHERE,   mjGEOM_CAPSULE,
                                   mjGEOM_ELLIPSOID, mjGEOM_CYLINDER, mjGEOM_BOX};

// Copies GL's bottom-up rows into top-down order.
template <typename T>
void FlipRows(const T* from, T* to, int width, int height, int channels) {
  const size_t row = static_cast<size_t>(width) * channels;
  for (int y = 0; y < height; ++y) {
    std::copy_n(from + (height - 1 - y) * row, row, to + y * row);
  }
}

}  // namespace

int FindCamera(const mjModel* model, const std::string& name) {
  if (name.empty()) return -1;
  const int id = mj_name2id(model, mjOBJ_CAMERA, name.c_str());
  if (id >= 0) return id;
  std::string known;
  for (int i = 0; i < model->ncam; ++i) {
    const char* cam = mj_id2name(model, mjOBJ_CAMERA, i);
    known += (known.empty() ? "" : ", ") + std::string(cam ? cam : "#" + std::to_string(i));
  }
  throw BadInput("unknown camera '" + name + "' (scene cameras: " +
                 (known.empty() ? "none; use the free camera" : known) + ")");
}

Renderer::Renderer(ModelPtr model, const RenderOptions& options)
    : model_(std::move(model)), options_(options) {
  const mjModel* m = model_.get();
  if (options_.multisamples < 0 || options_.multisamples > 16) {
    throw BadInput("multisamples must be in [0, 16]");
  }
  if (options_.width < 1 || options_.height < 1 || options_.width > 4096 ||
      options_.height > 4096) {
    throw BadInput("render size " + std::to_string(options_.width) + "x" +
                   std::to_string(options_.height) + " is outside 1x1 .. 4096x4096");
  }
  const int camera_id = FindCamera(m, options_.camera.name);
  mjv_defaultCamera(&camera_);
  if (camera_id >= 0) {
    camera_.type = mjCAMERA_FIXED;
    camera_.fixedcamid = camera_id;
  } else {
    mjv_defaultFreeCamera(m, &camera_);
    if (options_.camera.distance > 0) {
      std::copy_n(options_.camera.lookat, 3, camera_.lookat);
      camera_.distance = options_.camera.distance;
      camera_.azimuth = options_.camera.azimuth;
      camera_.elevation = options_.camera.elevation;
    }
  }
  mjv_defaultOption(&visual_options_);
  mjv_defaultScene(&scene_);
  mjv_makeScene(m, &scene_, 2000);
  scene_.flags[mjRND_SHADOW] = options_.shadows;
  scene_.flags[mjRND_REFLECTION] = options_.reflections;
  scene_.flags[mjRND_SKYBOX] = options_.skybox;
  const size_t pixels = static_cast<size_t>(options_.width) * options_.height;
  flip_rgb_.resize(pixels * 3);
  flip_depth_.resize(pixels);
}

Renderer::~Renderer() { mjv_freeScene(&scene_); }

void Renderer::UpdateScene(const mjData* data, std::span<const Primitive> extra) {
  // mjv_updateScene takes mjData* but only reads the state (and uses scratch stack space).
  mjv_updateScene(model_.get(), const_cast<mjData*>(data), &visual_options_, nullptr, &camera_,
                  mjCAT_ALL, &scene_);
  const int first_extra = scene_.ngeom;
  segid_body_.assign(scene_.ngeom + extra.size() + 1, -1);
  for (int g = 0; g < first_extra; ++g) {
    const mjvGeom& geom = scene_.geoms[g];
    if (geom.segid >= 0 && geom.segid + 1 < static_cast<int>(segid_body_.size()) &&
        geom.objtype == mjOBJ_GEOM) {
      segid_body_[geom.segid + 1] = model_->geom_bodyid[geom.objid];
    }
  }
  for (const Primitive& primitive : extra) {
    if (scene_.ngeom >= scene_.maxgeom) {
      throw std::runtime_error("renderer: more than " + std::to_string(scene_.maxgeom) +
                               " geoms in one scene");
    }
    mjvGeom* geom = scene_.geoms + scene_.ngeom;
    mjv_initGeom(geom, kPrimitiveTypes[static_cast<int>(primitive.shape)], primitive.size,
                 primitive.pos, primitive.mat, primitive.rgba);
    geom->category = mjCAT_DYNAMIC;
    geom->segid = scene_.ngeom;
    segid_body_[geom->segid + 1] = primitive.id;
    ++scene_.ngeom;
  }
}

void Renderer::Render(const mjData* data, uint8_t* rgb, float* depth, int32_t* segmentation,
                      std::span<const Primitive> extra) {
  const int w = options_.width, h = options_.height;
  MakeThreadGlContextCurrent();
  mjrContext* context = thread_contexts.Get(model_, w, h, options_.multisamples);
  const mjrRect viewport = {0, 0, w, h};
  UpdateScene(data, extra);
  if (rgb || depth) {
    mjr_render(viewport, &scene_, context);
    mjr_readPixels(rgb ? flip_rgb_.data() : nullptr, depth ? flip_depth_.data() : nullptr,
                   viewport, context);
    if (rgb) FlipRows(flip_rgb_.data(), rgb, w, h, 3);
    if (depth) {
      // Depth buffer [0, 1] -> metres along the view axis (MuJoCo's near/far planes).
      const double extent = model_->stat.extent;
      const double near = model_->vis.map.znear * extent, far = model_->vis.map.zfar * extent;
      for (float& z : flip_depth_) z = static_cast<float>(near / (1.0 - z * (1.0 - near / far)));
      FlipRows(flip_depth_.data(), depth, w, h, 1);
    }
  }
  if (segmentation) {
    scene_.flags[mjRND_SEGMENT] = 1;
    scene_.flags[mjRND_IDCOLOR] = 1;
    mjr_render(viewport, &scene_, context);
    scene_.flags[mjRND_SEGMENT] = 0;
    scene_.flags[mjRND_IDCOLOR] = 0;
    mjr_readPixels(flip_rgb_.data(), nullptr, viewport, context);
    for (int y = 0; y < h; ++y) {
      const uint8_t* row = flip_rgb_.data() + static_cast<size_t>(h - 1 - y) * w * 3;
      for (int x = 0; x < w; ++x) {
        const uint32_t id = row[3 * x] | (row[3 * x + 1] << 8) | (row[3 * x + 2] << 16);
        segmentation[static_cast<size_t>(y) * w + x] =
            id < segid_body_.size() ? segid_body_[id] : -1;
      }
    }
  }
}

void Renderer::Render(const mjData* data, RenderOutput* out, bool depth, bool segmentation) {
  const size_t pixels = static_cast<size_t>(options_.width) * options_.height;
  out->rgb.resize(pixels * 3);
  out->depth.resize(depth ? pixels : 0);
  out->segmentation.resize(segmentation ? pixels : 0);
  Render(data, out->rgb.data(), depth ? out->depth.data() : nullptr,
         segmentation ? out->segmentation.data() : nullptr);
}

}  // namespace darkmatter::sim
