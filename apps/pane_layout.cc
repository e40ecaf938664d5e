#include "apps/pane_layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sim/error.h"

namespace darkmatter::apps {
namespace {

constexpr Rgb kBackground{0, 0, 0};
constexpr Rgb kBarBackground{18, 18, 24};
constexpr Rgb kChartBackground{26, 26, 32};
constexpr Rgb kFrame{70, 70, 84};
constexpr Rgb kText{215, 215, 215};
constexpr Rgb kDim{120, 120, 130};
constexpr Rgb kCursor{235, 235, 235};

int RoundUpEven(int n) { return n + (n & 1); }

int DefaultColumns(int num_panes) {
  return static_cast<int>(std::ceil(std::sqrt(static_cast<double>(num_panes)) - 1e-9));
}

int TextScale(int pane_width) { return pane_width >= 200 ? 2 : 1; }

std::string FormatValue(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}

}  // namespace

PaneLayout::PaneLayout(const LayoutSpec& spec) : spec_(spec) {
  if (spec.pane_width < 1 || spec.pane_height < 1 || spec.num_panes < 1 || spec.columns < 0 ||
      spec.chart_height < 0) {
    throw sim::BadInput("pane layout needs positive sizes and pane count (got " +
                        std::to_string(spec.pane_width) + "x" +
                        std::to_string(spec.pane_height) + ", " +
                        std::to_string(spec.num_panes) + " panes)");
  }
  columns_ = std::min(spec.columns > 0 ? spec.columns : DefaultColumns(spec.num_panes),
                      spec.num_panes);
  rows_ = (spec.num_panes + columns_ - 1) / columns_;
  scale_ = TextScale(spec.pane_width);
  chart_height_ = spec.chart_height > 0 ? spec.chart_height
                                        : std::max(3 * line_height(), spec.pane_height / 3);
  width_ = RoundUpEven(columns_ * spec.pane_width);
  height_ = RoundUpEven(rows_ * (2 * line_height() + spec.pane_height) + line_height() +
                        chart_height_);
}

Rect PaneLayout::CaptionRect(int i) const {
  const int cell_height = 2 * line_height() + spec_.pane_height;
  return {(i % columns_) * spec_.pane_width, (i / columns_) * cell_height, spec_.pane_width,
          2 * line_height()};
}

Rect PaneLayout::PaneRect(int i) const {
  const Rect caption = CaptionRect(i);
  return {caption.x, caption.y + caption.height, spec_.pane_width, spec_.pane_height};
}

Rect PaneLayout::StatusRect() const {
  return {0, rows_ * (2 * line_height() + spec_.pane_height), width_, line_height()};
}

Rect PaneLayout::ChartRect() const {
  const Rect status = StatusRect();
  return {0, status.y + status.height, width_, chart_height_};
}

void PaneLayout::Compose(const std::vector<PaneContent>& panes, const std::string& status,
                         const ChartContent& chart, Canvas* canvas) const {
  if (canvas->width() != width_ || canvas->height() != height_) {
    *canvas = Canvas(width_, height_, kBackground);
  } else {
    canvas->Fill(kBackground);
  }
  const int pad = 2 * scale_;  // gap above and below text inside a line
  const int count = std::min<int>(static_cast<int>(panes.size()), spec_.num_panes);
  for (int i = 0; i < count; ++i) {
    const PaneContent& pane = panes[i];
    const Rect bar = CaptionRect(i);
    canvas->FillRect(bar, kBarBackground);
    canvas->DrawText(bar.x + 2 * pad, bar.y + pad, pane.caption, pane.color, scale_);
    canvas->DrawText(bar.x + 2 * pad, bar.y + line_height() + pad, pane.detail, kText, scale_);
    const Rect image = PaneRect(i);
    if (pane.rgb) canvas->Blit(pane.rgb, image.width, image.height, image.x, image.y);
    if (i % columns_ > 0) {  // a thin separator between neighbouring panes
      canvas->FillRect({bar.x, bar.y, 1, bar.height + image.height}, kFrame);
    }
  }
  const Rect line = StatusRect();
  canvas->FillRect(line, kBarBackground);
  canvas->DrawText(line.x + 2 * pad, line.y + pad, status, kText, scale_);
  DrawChart(chart, canvas);
}

void PaneLayout::DrawChart(const ChartContent& chart, Canvas* canvas) const {
  const Rect area = ChartRect();
  canvas->FillRect(area, kChartBackground);
  canvas->DrawRect(area, kFrame);
  const int pad = 2 * scale_;
  // Shared y range over every finite value; a flat curve gets a unit-wide band around it.
  double lo = INFINITY, hi = -INFINITY;
  size_t num_frames = 0;
  for (const ChartSeries& s : chart.series) {
    num_frames = std::max(num_frames, s.values.size());
    for (double v : s.values) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(lo <= hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  // Title row: the title and, for several curves, a coloured legend.
  int x = area.x + 2 * pad;
  const int text_y = area.y + pad;
  x += canvas->DrawText(x, text_y, chart.title, kText, scale_) + 3 * kGlyphAdvance * scale_;
  if (chart.series.size() > 1) {
    for (const ChartSeries& s : chart.series) {
      x += canvas->DrawText(x, text_y, s.label, s.color, scale_) + 2 * kGlyphAdvance * scale_;
    }
  }
  // Plot area under the title row, right of a margin with the y range (small labels).
  const std::string hi_text = FormatValue(hi), lo_text = FormatValue(lo);
  const int margin = std::max(Canvas::TextWidth(hi_text), Canvas::TextWidth(lo_text)) + 3;
  const Rect plot{area.x + pad + margin, area.y + line_height() + pad,
                  area.width - 2 * pad - margin, area.height - line_height() - 2 * pad};
  if (plot.width < 2 || plot.height < 2) return;
  canvas->DrawText(area.x + pad, plot.y, hi_text, kDim);
  canvas->DrawText(area.x + pad, plot.y + plot.height - Canvas::TextHeight(), lo_text, kDim);
  canvas->DrawLine(plot.x - 1, plot.y, plot.x - 1, plot.y + plot.height - 1, kFrame);
  const auto px = [&](double frame) {
    const double span = std::max<double>(static_cast<double>(num_frames) - 1, 1);
    return plot.x + static_cast<int>(std::lround(frame / span * (plot.width - 1)));
  };
  const auto py = [&](double v) {
    return plot.y + plot.height - 1 -
           static_cast<int>(std::lround((v - lo) / (hi - lo) * (plot.height - 1)));
  };
  if (lo < 0 && hi > 0) canvas->DrawLine(plot.x, py(0), plot.x + plot.width - 1, py(0), kFrame);
  canvas->DrawLine(px(chart.cursor), plot.y, px(chart.cursor), plot.y + plot.height - 1,
                   kDim);
  for (const ChartSeries& s : chart.series) {
    for (size_t i = 1; i < s.values.size(); ++i) {
      const double a = s.values[i - 1], b = s.values[i];
      if (std::isfinite(a) && std::isfinite(b)) {
        canvas->DrawLine(px(i - 1), py(a), px(i), py(b), s.color);
      } else if (std::isfinite(b)) {
        canvas->SetPixel(px(i), py(b), s.color);
      }
    }
    if (s.cursor >= 0 && s.cursor < static_cast<int>(s.values.size()) &&
        std::isfinite(s.values[s.cursor])) {
      const int cx = px(s.cursor), cy = py(s.values[s.cursor]);
      canvas->FillRect({cx - scale_, cy - scale_, 2 * scale_ + 1, 2 * scale_ + 1}, kCursor);
    }
  }
}

PaneLayout FitLayout(int width, int height, int num_panes) {
  LayoutSpec spec;
  spec.num_panes = std::max(num_panes, 1);
  spec.columns = DefaultColumns(spec.num_panes);
  const int rows = (spec.num_panes + spec.columns - 1) / spec.columns;
  spec.pane_width = std::max(width / spec.columns, 1);
  const int line = 11 * TextScale(spec.pane_width);
  spec.chart_height = std::max(3 * line, height / 6);
  spec.pane_height = std::max((height - line - spec.chart_height) / rows - 2 * line, 1);
  return PaneLayout(spec);
}

Rgb PaletteColor(int i) {
  static constexpr Rgb kPalette[] = {{255, 160, 40},  {80, 200, 255},  {120, 230, 90},
                                     {240, 100, 200}, {250, 230, 80},  {170, 140, 255},
                                     {255, 110, 90},  {90, 230, 200}};
  constexpr int n = sizeof(kPalette) / sizeof(kPalette[0]);
  return kPalette[((i % n) + n) % n];
}

}  // namespace darkmatter::apps
