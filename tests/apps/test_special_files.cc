// Outputs that are not regular files are never replaced, inputs that are not regular files are
// refused at once (a FIFO would block the reader forever), and a symlinked output writes its
// target and stays a link. Devices are made in the scratch folder (mknod, as root), never
// the system's.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/apps/cli_runner.h"

using darkmatter::testing::Darkmatter;
using darkmatter::testing::kPendulum;
using darkmatter::testing::Run;
using darkmatter::testing::Scratch;
using darkmatter::testing::Shell;
namespace fs = std::filesystem;

namespace {

// `darkmatter <args>` under a 60 s timeout, so a regression hangs no test run.
Run Bounded(const std::string& args) {
  return Shell("timeout 60 " + std::string(DARKMATTER_BIN) + " " + args);
}

}  // namespace

TEST_CASE("cli: outputs that are FIFOs or devices exit 2 and are left as they were",
          "[cli][errors][files]") {
  Scratch s;
  const std::string fifo = s / "out.fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  Run rollout = Bounded("rollout " + kPendulum + " --episodes 1 --out " + fifo);
  CHECK(rollout.code == 2);
  CHECK_THAT(rollout.output, Catch::Contains("out.fifo") && Catch::Contains("FIFO"));
  CHECK(fs::is_fifo(fifo));

  REQUIRE(Darkmatter("rollout " + kPendulum + " --episodes 1 --render 32x32 --out " +
                     s / "one.h5")
              .code == 0);
  Run video = Bounded("play " + s / "one.h5" + " --video " + fifo);
  CHECK(video.code == 2);
  CHECK_THAT(video.output, Catch::Contains("FIFO"));
  CHECK(fs::is_fifo(fifo));

  if (geteuid() == 0) {  // a character device like /dev/null, made here
    const std::string device = s / "null";
    REQUIRE(mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    Run onto_device = Bounded("rollout " + kPendulum + " --episodes 1 --out " + device);
    CHECK(onto_device.code == 2);
    CHECK_THAT(onto_device.output, Catch::Contains("character device"));
    CHECK(fs::is_character_file(device));
    const std::string link = s / "to_null.h5";
    fs::create_symlink(device, link);
    Run through_link = Bounded("rollout " + kPendulum + " --episodes 1 --out " + link);
    CHECK(through_link.code == 2);
    CHECK(fs::is_character_file(device));
    CHECK(fs::is_symlink(link));
  }
  for (const std::string& name : s.Files()) CHECK(name.find(".tmp") == std::string::npos);
}

TEST_CASE("cli: inputs that are FIFOs exit 2 at once instead of blocking", "[cli][errors][files]") {
  Scratch s;
  const std::string fifo = s / "in.fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  Run info = Bounded("info " + fifo);
  CHECK(info.code == 2);
  CHECK_THAT(info.output, Catch::Contains("in.fifo") && Catch::Contains("not a regular file"));
  Run voe = Bounded("eval voe --model untrained:jepa --data " + fifo);
  CHECK(voe.code == 2);
  CHECK_THAT(voe.output, Catch::Contains("in.fifo"));
}

TEST_CASE("cli: a symlinked output writes the file it points at and stays a link",
          "[cli][files]") {
  Scratch s;
  const std::string target = s / "real.h5", link = s / "link.h5";
  { std::ofstream(target) << "old contents"; }
  fs::create_symlink(target, link);
  REQUIRE(Darkmatter("rollout " + kPendulum + " --episodes 1 --out " + link).code == 0);
  CHECK(fs::is_symlink(link));
  CHECK(Darkmatter("info " + target).code == 0);
}
