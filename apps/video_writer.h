// VideoWriter: encodes RGB frames to an H.264 MP4 by piping raw rgb24 frames into the
// `ffmpeg` binary. ffmpeg writes a temporary file next to the output, which Finish() renames
// into place; on any failure (ffmpeg error, exception, Ctrl-C) the temporary file is removed,
// so a partially written video is never left behind.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace darkmatter::apps {

class VideoWriter {
 public:
  // Starts ffmpeg for width x height frames (both even) at `fps` frames per second. Throws
  // sim::BadInput naming `path` when its directory does not exist or is not writable, and
  // std::runtime_error when ffmpeg cannot be started.
  VideoWriter(const std::string& path, int width, int height, double fps);
  // Without a successful Finish(): stops ffmpeg and removes the temporary file.
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Appends one frame: (height x width x 3) RGB, rows top to bottom. Throws
  // std::runtime_error when ffmpeg has stopped or the process was interrupted (SIGINT/SIGTERM).
  void Write(const uint8_t* rgb);
  // Closes the stream, waits for ffmpeg and renames the temporary file to the output path.
  // Throws std::runtime_error (temporary file removed) when ffmpeg failed.
  void Finish();

  // Frames written so far.
  int64_t frames() const { return frames_; }
  // The temporary file ffmpeg writes to.
  const std::string& temp_path() const { return temp_path_; }

 private:
  void Abort();
  // Waits for ffmpeg; returns its exit status text ("" on success).
  std::string Wait();
  std::string path_, temp_path_;
  int width_, height_;
  int64_t frames_ = 0;
  int pipe_fd_ = -1;  // write end of ffmpeg's stdin
  pid_t pid_ = -1;
  bool done_ = false;
  struct sigaction old_pipe_, old_int_, old_term_;
};

}  // namespace darkmatter::apps
