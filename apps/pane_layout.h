// Pane layout: synchronised panes in a grid, each under a two-line caption bar, then a status
// line and a strip chart across the full width, composed into one RGB canvas that the
// playback video and the viewer share. Panes are generic (an episode, a model's imagined
// rollout, ...) and the chart takes any number of per-frame curves (reward, surprise, ...).
#pragma once

#include <string>
#include <vector>

#include "apps/canvas.h"

namespace darkmatter::apps {

// Sizes of a layout; see PaneLayout for the arithmetic.
struct LayoutSpec {
  int pane_width = 320;   // width of each pane's image (pixels)
  int pane_height = 240;  // height of each pane's image (pixels)
  int num_panes = 1;      // panes in the grid
  int columns = 0;        // grid columns; 0 = ceil(sqrt(num_panes))
  int chart_height = 0;   // strip chart height (pixels); 0 = max(3 text lines, pane_height / 3)
};

// What one pane shows in the current frame.
struct PaneContent {
  std::string caption;           // first caption line, drawn in `color` ("episode 3  seed 3")
  std::string detail;            // second caption line ("reward 1  diverged 0")
  const uint8_t* rgb = nullptr;  // (pane_height x pane_width x 3) image, rows top to bottom;
                                 // null leaves the pane black (the viewer renders it natively)
  Rgb color{255, 255, 255};      // caption colour; matches the pane's chart curve
};

// One curve of the strip chart.
struct ChartSeries {
  std::string label;           // legend text (shown when the chart has several curves)
  std::vector<double> values;  // (num_frames) one value per frame; NaN = no value there
  Rgb color{255, 255, 255};    // line colour
  int cursor = 0;              // this curve's current frame (a dot is drawn there)
};

// The strip chart under the panes.
struct ChartContent {
  std::string title;                // what is charted ("reward")
  std::vector<ChartSeries> series;  // curves sharing one y range
  int cursor = 0;                   // current frame, drawn as a vertical line
};

// Layout arithmetic, with s = text scale (2 when panes are >= 200 px wide, else 1) and one
// text line = 11 s pixels: a grid of `columns` x `rows` cells, each a caption bar of two
// lines above a pane; below them a status line (one line) and the strip chart. The canvas
// is columns * pane_width by rows * (2 lines + pane_height) + 1 line + chart_height, each
// rounded up to an even number (H.264 with yuv420p needs even sizes).
class PaneLayout {
 public:
  // Throws sim::BadInput when a size or the pane count is not positive.
  explicit PaneLayout(const LayoutSpec& spec);

  const LayoutSpec& spec() const { return spec_; }
  // Canvas size (pixels, both even).
  int width() const { return width_; }
  int height() const { return height_; }
  int columns() const { return columns_; }
  int rows() const { return rows_; }
  // Font scale of captions, status and chart labels.
  int text_scale() const { return scale_; }
  // Height of one text line (pixels).
  int line_height() const { return 11 * scale_; }
  // Where pane i's image goes (panes fill rows left to right).
  Rect PaneRect(int i) const;
  // Pane i's caption bar, directly above its image.
  Rect CaptionRect(int i) const;
  // The status line under the grid.
  Rect StatusRect() const;
  // The strip chart at the bottom.
  Rect ChartRect() const;

  // Draws everything into *canvas (resized to width() x height() when needed). `panes` may
  // hold fewer entries than num_panes; the rest stay empty.
  void Compose(const std::vector<PaneContent>& panes, const std::string& status,
               const ChartContent& chart, Canvas* canvas) const;

 private:
  void DrawChart(const ChartContent& chart, Canvas* canvas) const;
  LayoutSpec spec_;
  int columns_, rows_, scale_, chart_height_, width_, height_;
};

// The layout of `num_panes` panes that best fills a width x height canvas (the viewer's
// window): widest panes that fit, a chart of about a sixth of the height; panes >= 1 px.
PaneLayout FitLayout(int width, int height, int num_panes);

// Colour number i of a fixed palette of distinct colours (captions and curves).
Rgb PaletteColor(int i);

}  // namespace darkmatter::apps
