// Canvas: an RGB image composed on the CPU (rendered panes, text in a built-in 5x7 bitmap
// font, lines, rectangles), shared by the playback video and the viewer.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace darkmatter::apps {

// An 8-bit RGB colour.
struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// An axis-aligned rectangle in pixels; (x, y) is the top-left corner, y grows downwards.
struct Rect {
  int x = 0, y = 0;           // top-left corner (pixels)
  int width = 0, height = 0;  // size (pixels)
  bool operator==(const Rect&) const = default;
};

// Glyph cell of the built-in font: 5x7 pixels (descenders reach one row lower, so a line
// of text is 8 pixels tall) and an advance of 6 pixels per character.
inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
inline constexpr int kGlyphAdvance = 6;
inline constexpr int kLineHeight = 8;

class Canvas {
 public:
  // A width x height canvas filled with `background`; sizes must be >= 0.
  Canvas(int width, int height, Rgb background = {});

  int width() const { return width_; }
  int height() const { return height_; }
  // The pixels: (H x W x 3) RGB, rows top to bottom.
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  // Colour of pixel (x, y); must be inside the canvas.
  Rgb At(int x, int y) const;

  // Fills the whole canvas.
  void Fill(Rgb color);
  // Fills `rect`, clipped to the canvas.
  void FillRect(const Rect& rect, Rgb color);
  // Draws the one-pixel outline of `rect`, clipped.
  void DrawRect(const Rect& rect, Rgb color);
  // Sets one pixel; ignored outside the canvas.
  void SetPixel(int x, int y, Rgb color);
  // Draws a one-pixel line from (x0, y0) to (x1, y1) inclusive, clipped.
  void DrawLine(int x0, int y0, int x1, int y1, Rgb color);
  // Copies a (height x width x 3) RGB image (rows top to bottom) with its top-left corner at
  // (x, y), clipped to the canvas.
  void Blit(const uint8_t* rgb, int width, int height, int x, int y);
  // Draws `text` (ASCII; other bytes show as '?') with its top-left corner at (x, y), each
  // font pixel a scale x scale block, clipped. Returns the width drawn (pixels).
  int DrawText(int x, int y, std::string_view text, Rgb color, int scale = 1);

  // Width of `text` in pixels at `scale` (advance per character, no trailing gap).
  static int TextWidth(std::string_view text, int scale = 1);
  // Height of one line of text in pixels at `scale` (including descenders, no spacing).
  static int TextHeight(int scale = 1) { return kLineHeight * scale; }

 private:
  int width_, height_;
  std::vector<uint8_t> pixels_;  // (height_ x width_ x 3)
};

}  // namespace darkmatter::apps
