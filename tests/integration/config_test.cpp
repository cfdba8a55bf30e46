// `squib-netd --config FILE`: a JSON object whose keys are the long flags. The test proves
// the file is read (a limit from it holds), that a misspelt key or a bad value is a usage
// error (exit 2, naming it), and that SIGHUP re-reads its log-level.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

// Runs squib-netd with `args` to completion (it must refuse to start); returns its exit
// code and output.
int refused_start(const std::vector<std::string>& args, std::string& output) {
  std::string command = SQUIB_NETD_PATH;
  for (const auto& arg : args) command += " '" + arg + "'";
  auto run = run_command(command + " 2>&1");
  output = std::move(run.output);
  return run.exit_code;
}

}  // namespace

TEST_CASE("config file: a JSON object of long flags is read, SIGHUP re-reads its log-level, mistakes exit 2",
          "[integration][config]") {
  TempDir dir;
  const std::string config = dir.file("squib-netd.json");
  std::ofstream(config) << R"({"max-connections": 2, "log-level": "debug"})";
  DaemonProcess daemon(dir.path(), {"--config", config});

  SECTION("a limit from the file holds") {
    // Raw connections, each asking for status: an admitted one answers; the one over the
    // limit gets the refusal line, which the daemon sends before it closes (its close may
    // come before our request is written, so a ControlClient call could fail to send).
    // The daemon may still count the probe connections of start-up for a moment: hold
    // connections until one is refused; the refusal names the file's limit.
    std::vector<int> held;
    std::string refusal;
    for (int i = 0; i < 10 && refusal.empty(); ++i) {
      const int fd = connect_raw(daemon.control_path());
      REQUIRE(fd >= 0);
      held.push_back(fd);
      (void)send_all(fd, R"({"jsonrpc":"2.0","id":1,"method":"status"})"
                         "\n");
      const std::string line = read_line_or_eof(fd, 10s);
      const json reply = json::parse(line, nullptr, false);
      REQUIRE(reply.is_object());
      if (reply.contains("error")) refusal = reply["error"]["message"];
    }
    for (const int fd : held) ::close(fd);
    CHECK(refusal == "too many control connections (limit 2)");
    CHECK(held.size() <= 3);
  }
  SECTION("SIGHUP applies the file's log-level") {
    daemon.ok("start", echo_start("before"));
    CHECK(daemon.log().find("before: started") != std::string::npos);
    std::ofstream(config) << R"({"max-connections": 2, "log-level": "error"})";
    REQUIRE(::kill(daemon.pid(), SIGHUP) == 0);
    REQUIRE(eventually([&] { return daemon.log().find("SIGHUP: reloading") != std::string::npos; }));
    daemon.ok("status");  // the signal was handled on the loop before this reply
    daemon.ok("start", echo_start("after"));
    CHECK(daemon.log().find("after: started") == std::string::npos);  // info is below error now
  }
  SECTION("a misspelt key, a bad value, a file that is not an object: exit 2, named") {
    std::string output;
    std::ofstream(dir.file("typo.json")) << R"({"max-conections": 2})";
    CHECK(refused_start({"--run-dir", dir.file("run2"), "--config", dir.file("typo.json")}, output) == 2);
    CHECK(output.find("max-conections") != std::string::npos);
    std::ofstream(dir.file("level.json")) << R"({"log-level": "loud"})";
    CHECK(refused_start({"--run-dir", dir.file("run2"), "--config", dir.file("level.json")}, output) == 2);
    CHECK(output.find("loud") != std::string::npos);
    std::ofstream(dir.file("array.json")) << R"([1, 2])";
    CHECK(refused_start({"--run-dir", dir.file("run2"), "--config", dir.file("array.json")}, output) == 2);
    CHECK(output.find("--config: the file must hold one JSON object") != std::string::npos);
    CHECK(refused_start({"--run-dir", dir.file("run2"), "--log-level", "loud"}, output) == 2);
  }
}

TEST_CASE("a run dir others cannot reach is reported at start-up with the fix", "[integration][config]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);  // as `mktemp -d` makes it
  DaemonProcess daemon(dir.path());
  const std::string expected = dir.path() + " is not searchable by others (no o+x)";
  CHECK(daemon.log().find(expected) != std::string::npos);
  CHECK(daemon.log().find("Fix: chmod o+x " + dir.path()) != std::string::npos);

  TempDir open_dir;  // 0755
  DaemonProcess fine(open_dir.path());
  CHECK(fine.log().find("is not searchable by others") == std::string::npos);
}
