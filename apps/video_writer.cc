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
  // Reserve the temporary name now (mkstemp), so a read-only directory fails here.
  std::string pattern = (dir / ("." + out.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) {
    throw sim::BadInput("cannot write video '" + path + "': " + std::strerror(errno));
  }
  close(fd);
  temp_path_ = name.data();

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
  const std::string status = Wait();
  if (!status.empty()) {
    Abort();
    throw std::runtime_error("ffmpeg failed (" + status + ") writing '" + path_ +
                             "'; no video written");
  }
  // mkstemp made the file private (0600); give the video the usual permissions.
  const mode_t mask = umask(0);
  umask(mask);
  chmod(temp_path_.c_str(), 0666 & ~mask);
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
