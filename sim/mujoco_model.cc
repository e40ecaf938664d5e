#include "sim/mujoco_model.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "sim/error.h"

namespace darkmatter::sim {
namespace {

std::mutex& LoaderMutex() {
  static std::mutex mutex;
  return mutex;
}

std::atomic<int64_t> warning_count{0};
std::mutex warning_mutex;
std::string last_warning;

void OnMujocoWarning(const char* message) {
  warning_count.fetch_add(1);
  std::lock_guard<std::mutex> lock(warning_mutex);
  last_warning = message;
}

void OnMujocoError(const char* message) {
  std::fprintf(stderr, "error: MuJoCo fatal error: %s\n", message);
  std::exit(1);
}

// MuJoCo 2.2.2's box-box collider sometimes reports a fake contact much deeper than the
// boxes themselves (upstream issue 3476), which launches resting boxes. A box cannot
// penetrate another by more than its smallest half-size without its centre being inside,
// so such contacts are dropped.
mjfCollision original_box_box = nullptr;

int FilteredBoxBox(const mjModel* m, const mjData* d, mjContact* con, int g1, int g2,
                   mjtNum margin) {
  const int count = original_box_box(m, d, con, g1, g2, margin);
  const mjtNum* a = m->geom_size + 3 * g1;
  const mjtNum* b = m->geom_size + 3 * g2;
  const mjtNum limit = -std::min({a[0], a[1], a[2], b[0], b[1], b[2]});
  int kept = 0;
  for (int i = 0; i < count; ++i) {
    if (con[i].dist >= limit) con[kept++] = con[i];
  }
  return kept;
}

ModelPtr Wrap(mjModel* model) {
  return ModelPtr(model, [](const mjModel* m) { mj_deleteModel(const_cast<mjModel*>(m)); });
}

// Upper bound on bodies (and geoms) in a model: MuJoCo's compiler takes minutes on 10^5.
constexpr int64_t kMaxBodies = 10000;

// Refuses text with more than kMaxBodies "<body" or "<geom" elements before compiling it.
void CheckElementCounts(const std::string& xml, const std::string& name) {
  for (const char* element : {"<body", "<geom"}) {
    int64_t count = 0;
    for (size_t at = xml.find(element); at != std::string::npos; at = xml.find(element, at + 1)) {
      if (++count > kMaxBodies) {
        throw BadInput(name + ": more than " + std::to_string(kMaxBodies) + " " + (element + 1) +
                       " elements (the limit of a model here)");
      }
    }
  }
}

// Refuses a compiled model with a NaN or infinite number where physics needs a finite one
// (MuJoCo accepts timestep="nan" or mass="inf" and diverges on the first step).
void CheckFiniteModel(const mjModel* m, const std::string& name) {
  auto fail = [&](const std::string& what) {
    throw BadInput(name + ": " + what + " is not a finite number");
  };
  if (!std::isfinite(m->opt.timestep) || m->opt.timestep <= 0) {
    throw BadInput(name + ": option timestep must be a finite number > 0");
  }
  for (int i = 0; i < 3; ++i) {
    if (!std::isfinite(m->opt.gravity[i])) fail("option gravity");
    if (!std::isfinite(m->opt.wind[i])) fail("option wind");
  }
  if (!std::isfinite(m->opt.density) || !std::isfinite(m->opt.viscosity)) {
    fail("option density/viscosity");
  }
  struct Array {
    const char* what;
    const mjtNum* values;
    int count;
    int width;
    mjtObj type;
  };
  const Array arrays[] = {
      {"body pos", m->body_pos, m->nbody, 3, mjOBJ_BODY},
      {"body quat", m->body_quat, m->nbody, 4, mjOBJ_BODY},
      {"body mass", m->body_mass, m->nbody, 1, mjOBJ_BODY},
      {"body inertia", m->body_inertia, m->nbody, 3, mjOBJ_BODY},
      {"body ipos", m->body_ipos, m->nbody, 3, mjOBJ_BODY},
      {"geom size", m->geom_size, m->ngeom, 3, mjOBJ_GEOM},
      {"geom pos", m->geom_pos, m->ngeom, 3, mjOBJ_GEOM},
      {"geom quat", m->geom_quat, m->ngeom, 4, mjOBJ_GEOM},
      {"geom friction", m->geom_friction, m->ngeom, 3, mjOBJ_GEOM},
      {"joint qpos0", m->qpos0, m->nq, 1, mjOBJ_UNKNOWN},
      {"dof damping", m->dof_damping, m->nv, 1, mjOBJ_UNKNOWN},
      {"dof armature", m->dof_armature, m->nv, 1, mjOBJ_UNKNOWN},
      {"actuator gear", m->actuator_gear, m->nu, 6, mjOBJ_ACTUATOR},
      {"actuator ctrlrange", m->actuator_ctrlrange, m->nu, 2, mjOBJ_ACTUATOR},
  };
  for (const Array& array : arrays) {
    for (int i = 0; i < array.count; ++i) {
      for (int k = 0; k < array.width; ++k) {
        if (std::isfinite(array.values[i * array.width + k])) continue;
        const char* object =
            array.type == mjOBJ_UNKNOWN ? nullptr : mj_id2name(m, array.type, i);
        fail(std::string(array.what) + " of element " + std::to_string(i) +
             (object && *object ? " ('" + std::string(object) + "')" : ""));
      }
    }
  }
}

// The model, checked (element count, finite numbers) and wrapped.
ModelPtr Checked(mjModel* model, const std::string& name) {
  ModelPtr wrapped = Wrap(model);
  if (wrapped->nbody > kMaxBodies || wrapped->ngeom > kMaxBodies) {
    throw BadInput(name + ": more than " + std::to_string(kMaxBodies) +
                   " bodies or geoms (the limit of a model here)");
  }
  CheckFiniteModel(wrapped.get(), name);
  return wrapped;
}

}  // namespace

void InstallMujocoHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    mju_user_warning = OnMujocoWarning;
    mju_user_error = OnMujocoError;
    original_box_box = mjCOLLISIONFUNC[mjGEOM_BOX][mjGEOM_BOX];
    mjCOLLISIONFUNC[mjGEOM_BOX][mjGEOM_BOX] = FilteredBoxBox;
  });
}

int64_t MujocoWarningCount() { return warning_count.load(); }

std::string LastMujocoWarning() {
  std::lock_guard<std::mutex> lock(warning_mutex);
  return last_warning;
}

int TotalWarnings(const mjData* data) {
  int total = 0;
  for (int i = 0; i < mjNWARNING; ++i) total += data->warning[i].number;
  return total;
}

namespace {

// Seconds one MJCF compile may take: DARKMATTER_MJCF_COMPILE_SECONDS, else 120.
double CompileSeconds() {
  const char* text = std::getenv("DARKMATTER_MJCF_COMPILE_SECONDS");
  char* end = nullptr;
  const double seconds = text ? std::strtod(text, &end) : 0.0;
  return text && *end == '\0' && seconds > 0 ? seconds : 120.0;
}

// Ends the process with exit 2 and a message naming the model when mj_loadXML runs past
// CompileSeconds(). MuJoCo 2.2's compile-time muscle length-range simulation never ends when
// it diverges (it resets the data to time 0 and starts over; found by fuzz_mjcf), and there
// is no way out of mj_loadXML short of ending the process.
class CompileWatchdog {
 public:
  explicit CompileWatchdog(const std::string& name)
      : thread_([this, name] {
          std::unique_lock<std::mutex> lock(mutex_);
          const double limit = CompileSeconds();
          if (!finished_.wait_for(lock, std::chrono::duration<double>(limit),
                                  [this] { return done_; })) {
            std::fprintf(stderr,
                         "error: %s: MuJoCo did not finish compiling the model within %g s "
                         "(e.g. its muscle length-range simulation never settles); set "
                         "DARKMATTER_MJCF_COMPILE_SECONDS to allow longer\n",
                         name.c_str(), limit);
            std::fflush(stderr);
            std::_Exit(2);
          }
        }) {}
  ~CompileWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    finished_.notify_all();
    thread_.join();
  }
  CompileWatchdog(const CompileWatchdog&) = delete;
  CompileWatchdog& operator=(const CompileWatchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

ModelPtr LoadModelFile(const std::string& path) {
  InstallMujocoHandlers();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw BadInput(path + ": no such model file");
  }
  {
    std::ifstream in(path, std::ios::binary);
    CheckElementCounts(std::string(std::istreambuf_iterator<char>(in), {}), path);
  }
  char error[1024] = "";
  mjModel* model = nullptr;
  {
    std::lock_guard<std::mutex> lock(LoaderMutex());
    const CompileWatchdog watchdog(path);
    model = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
  }
  if (!model) throw BadInput(path + ": cannot load model: " + error);
  return Checked(model, path);
}

ModelPtr SharedModelFile(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const mjModel>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (ModelPtr model = cache[path].lock()) return model;
  ModelPtr model = LoadModelFile(path);
  cache[path] = model;
  return model;
}

ModelPtr LoadModelString(const std::string& xml, const std::string& name) {
  InstallMujocoHandlers();
  CheckElementCounts(xml, name);
  char error[1024] = "";
  mjModel* model = nullptr;
  {
    std::lock_guard<std::mutex> lock(LoaderMutex());
    auto vfs = std::make_unique<mjVFS>();  // ~2 MB: keep it off the stack
    mj_defaultVFS(vfs.get());
    const std::string file = "model.xml";
    if (mj_makeEmptyFileVFS(vfs.get(), file.c_str(), static_cast<int>(xml.size())) != 0) {
      mj_deleteVFS(vfs.get());
      throw BadInput(name + ": cannot create an in-memory file for the model");
    }
    std::memcpy(vfs->filedata[vfs->nfile - 1], xml.data(), xml.size());
    const CompileWatchdog watchdog(name);
    model = mj_loadXML(file.c_str(), vfs.get(), error, sizeof(error));
    mj_deleteVFS(vfs.get());
  }
  if (!model) throw BadInput(name + ": cannot load model: " + error);
  return Checked(model, name);
}

std::string AssetPath(const std::string& relative) {
  const char* root = std::getenv("DARKMATTER_ASSETS");
  return std::string(root && *root ? root : DARKMATTER_ASSET_DIR) + "/" + relative;
}

}  // namespace darkmatter::sim
