#include "apps/episode_video.h"

#include <memory>
#include <vector>

#include "apps/episode_player.h"
#include "apps/pane_layout.h"
#include "apps/progress.h"
#include "apps/video_writer.h"

namespace darkmatter::apps {

void EncodeFrames(const std::string& video, double fps, int64_t frames, const Canvas& canvas,
                  const std::function<void(int64_t t)>& compose, const std::string& label) {
  compose(0);
  VideoWriter writer(video, canvas.width(), canvas.height(), fps);
  std::unique_ptr<ProgressBar> progress;
  if (!label.empty()) progress = std::make_unique<ProgressBar>(label, frames);
  for (int64_t t = 0; t < frames; ++t) {
    if (t > 0) compose(t);
    writer.Write(canvas.pixels().data());
    if (progress) progress->Update(t + 1);
  }
  writer.Finish();
  if (progress) progress->Finish();
}

int64_t WriteEpisodeVideo(const EpisodeVideoOptions& o, const std::string& video, int* width,
                          int* height) {
  EpisodeGroup group(o.file, o.episode, o.grid, o.chart);
  const PaneLayout layout(
      {.pane_width = o.pane_width, .pane_height = o.pane_height, .num_panes = group.size()});
  sim::CameraSpec camera;
  camera.name = o.camera;
  std::vector<sim::RenderOutput> images(group.size());
  std::vector<PaneContent> panes;
  ChartContent chart;
  Canvas canvas(layout.width(), layout.height());
  const int64_t frames = group.NumFrames();
  EncodeFrames(video, o.fps, frames, canvas, [&](int64_t t) {
    group.Seek(t);
    group.Describe(&panes, &chart);
    for (int i = 0; i < group.size(); ++i) {
      group.player(i).Render(camera, o.pane_width, o.pane_height, &images[i]);
      panes[i].rgb = images[i].rgb.data();
    }
    layout.Compose(panes, group.Status(), chart, &canvas);
  }, o.label);
  if (width) *width = layout.width();
  if (height) *height = layout.height();
  return frames;
}

}  // namespace darkmatter::apps
