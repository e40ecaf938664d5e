#include "apps/video_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "sim/error.h"
#include "sim/file_checks.h"

namespace darkmatter::apps {
namespace {

namespace fs = std::filesystem;

volatile std::sig_atomic_t interrupted = 0;

void OnInterrupt(int) { interrupted = 1; }

void Install(int signal, void (*handler)(int), struct sigaction* old) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocked write returns EINTR and sees the flag
  sigaction(signal, &action, old);
}

// "" when `path` is a whole MP4 file: top-level boxes that tile it exactly, with a 'moov'
// (the index ffmpeg writes last) and an 'mdat'; otherwise what is wrong. ffmpeg 5 exits 0
// even when closing its output failed (a full disk), leaving a truncated file.
std::string Mp4Problem(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return std::strerror(errno);
  std::error_code error;
  const uint64_t size = fs::file_size(path, error);
  uint64_t offset = 0;
  bool moov = false, mdat = false;
  unsigned char header[16];
  std::string problem;
  while (offset < size && problem.empty()) {
    if (std::fseek(file, static_cast<long>(offset), SEEK_SET) != 0 ||
        std::fread(header, 1, 8, file) != 8) {
      problem = "truncated box header at byte " + std::to_string(offset);
      break;
    }
    uint64_t box = (uint64_t{header[0]} << 24) | (uint64_t{header[1]} << 16) |
                   (uint64_t{header[2]} << 8) | header[3];
    const std::string type(reinterpret_cast<const char*>(header + 4), 4);
    if (box == 1) {  // 64-bit size follows the type
      if (std::fread(header + 8, 1, 8, file) != 8) {
        problem = "truncated box header";
        break;
      }
      box = 0;
      for (int i = 8; i < 16; ++i) box = (box << 8) | header[i];
    } else if (box == 0) {
      box = size - offset;  // "to the end of the file"
    }
    if (box < 8 || offset + box > size) {
      problem = "box '" + type + "' runs past the end of the file (truncated)";
      break;
    }
    moov |= type == "moov";
    mdat |= type == "mdat";
    offset += box;
  }
  std::fclose(file);
  if (problem.empty() && !(moov && mdat)) problem = "no 'moov' or 'mdat' box (unfinished file)";
  return problem;
}

std::string FormatFps(double fps) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", fps);
  return text;
}

}  // namespace

VideoWriter::VideoWriter(const std::string& path, int width, int height, double fps)
    : path_(sim::ResolveOutputFile(path, "video")), width_(width), height_(height) {
  if (width < 2 || height < 2 || width % 2 || height % 2 || !(fps > 0)) {
    throw std::invalid_argument("VideoWriter needs even sizes and fps > 0");
  }
  const fs::path out(path);
  if (out.filename().empty()) throw sim::BadInput("video output '" + path + "' is not a file name");
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw sim::BadInput("cannot write video '" + path + "': directory '" + dir.string() +
                        "' does not exist");
  }
  if (fs::is_directory(out, error)) {
    throw sim::BadInput("cannot write video '" + path + "': it is a directory");
  }
  // Reserve the temporary file now, so a read-only directory fails here.
  temp_path_ = sim::TemporaryPathFor(path_);
  const int fd = open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    const std::string reason = std::strerror(errno);
    temp_path_.clear();
    throw sim::BadInput("cannot write video '" + path + "': " + reason);
  }
  close(fd);

  interrupted = 0;
  Install(SIGPIPE, SIG_IGN, &old_pipe_);  // a dead ffmpeg gives EPIPE instead of killing us
  Install(SIGINT, OnInterrupt, &old_int_);
  Install(SIGTERM, OnInterrupt, &old_term_);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    Abort();
    throw std::runtime_error(std::string("cannot create a pipe for ffmpeg: ") +
                             std::strerror(errno));
  }
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  const std::string rate = FormatFps(fps);
  const std::vector<std::string> args = {
      "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",     "-f",       "rawvideo",
      "-pix_fmt", "rgb24", "-s", size, "-r", rate, "-i", "-", "-an", "-c:v", "libx264",
      "-pix_fmt", "yuv420p", "-crf", "18", "-movflags", "+faststart", "-f", "mp4", temp_path_};
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    signal(SIGPIPE, SIG_DFL);
    dup2(fds[0], STDIN_FILENO);  // dup2 clears close-on-exec on stdin
    execvp("ffmpeg", argv.data());
    static const char kMessage[] = "error: cannot run ffmpeg (is it installed?)\n";
    [[maybe_unused]] ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    _exit(127);
  }
  close(fds[0]);
  if (pid_ < 0) {
    close(fds[1]);
    Abort();
    throw std::runtime_error(std::string("cannot start ffmpeg: ") + std::strerror(errno));
  }
  pipe_fd_ = fds[1];
}

VideoWriter::~VideoWriter() {
  if (!done_) Abort();
  sigaction(SIGPIPE, &old_pipe_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

void VideoWriter::Write(const uint8_t* rgb) {
  if (done_) throw std::logic_error("VideoWriter::Write after Finish");
  const size_t total = static_cast<size_t>(width_) * height_ * 3;
  size_t written = 0;
  while (written < total) {
    if (interrupted) throw std::runtime_error("interrupted; no video written");
    const ssize_t n = write(pipe_fd_, rgb + written, total - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      const std::string reason = std::strerror(errno);
      close(pipe_fd_);
      pipe_fd_ = -1;
      const std::string status = Wait();
      throw std::runtime_error("ffmpeg stopped after " + std::to_string(frames_) + " frames (" +
                               (status.empty() ? reason : status) + "); no video written");
    }
  }
  ++frames_;
}

void VideoWriter::Finish() {
  if (done_) return;
  if (interrupted) throw std::runtime_error("interrupted; no video written");
  close(pipe_fd_);
  pipe_fd_ = -1;
  std::string status = Wait();
  if (status.empty()) status = Mp4Problem(temp_path_);
  if (!status.empty()) {
    Abort();
    throw std::runtime_error("ffmpeg failed (" + status + ") writing '" + path_ +
                             "' (is the disk full?); no video written");
  }
  std::error_code error;
  fs::rename(temp_path_, path_, error);
  if (error) {
    Abort();
    throw std::runtime_error("cannot rename the video into '" + path_ + "': " +
                             error.message());
  }
  done_ = true;
}

std::string VideoWriter::Wait() {
  if (pid_ <= 0) return "";
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    if (code == 0) return "";
    return code == 127 ? "ffmpeg not found or not runnable" : "exit code " + std::to_string(code);
  }
  return WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                             : "unknown status";
}

void VideoWriter::Abort() {
  if (pipe_fd_ >= 0) {
    close(pipe_fd_);
    pipe_fd_ = -1;
  }
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    Wait();
  }
  if (!temp_path_.empty()) {
    std::error_code error;
    fs::remove(temp_path_, error);
  }
  done_ = true;
}

}  // namespace darkmatter::apps
