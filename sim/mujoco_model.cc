#include "sim/mujoco_model.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

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

ModelPtr LoadModelFile(const std::string& path) {
  InstallMujocoHandlers();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw BadInput(path + ": no such model file");
  }
  char error[1024] = "";
  mjModel* model = nullptr;
  {
    std::lock_guard<std::mutex> lock(LoaderMutex());
    model = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
  }
  if (!model) throw BadInput(path + ": cannot load model: " + error);
  return Wrap(model);
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
    model = mj_loadXML(file.c_str(), vfs.get(), error, sizeof(error));
    mj_deleteVFS(vfs.get());
  }
  if (!model) throw BadInput(name + ": cannot load model: " + error);
  return Wrap(model);
}

std::string AssetPath(const std::string& relative) {
  const char* root = std::getenv("DARKMATTER_ASSETS");
  return std::string(root && *root ? root : DARKMATTER_ASSET_DIR) + "/" + relative;
}

}  // namespace darkmatter::sim
