// squib-netctl as scripts use it: exit codes (0 ok, 1 daemon error, 2 usage, 3 unreachable)
// and, with --json, every outcome — errors included — as one JSON object on stdout.

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

using namespace squib::test;

namespace {

// squib-netctl ARGUMENTS; `output` is its stdout only.
CommandRun netctl(const std::string& arguments) {
  return run_command(std::string(SQUIB_NETCTL_PATH) + " " + arguments + " 2>/dev/null");
}

}  // namespace

TEST_CASE("squib-netctl: exit codes, and --json errors on stdout", "[integration][netctl]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const std::string control = "--control " + daemon.control_path();

  const auto unreachable = netctl("--json --control " + dir.file("nothing.sock") + " list");
  CHECK(unreachable.exit_code == 3);
  const json unreachable_json = json::parse(unreachable.output);
  CHECK(unreachable_json["error"]["exit"] == 3);
  CHECK(unreachable_json["error"]["message"].get<std::string>().starts_with("cannot reach squib-netd at "));

  const auto missing = netctl("--json " + control + " stop nosuch");
  CHECK(missing.exit_code == 1);
  CHECK(json::parse(missing.output)["error"] ==
        json{{"code", -32001}, {"message", "no attachment named 'nosuch'"}, {"exit", 1}});

  CHECK(netctl(control + " stats --count 2").exit_code == 2);  // --count needs --watch
  CHECK(netctl(control + " frobnicate").exit_code == 2);

  const auto listed = netctl("--json " + control + " list");
  CHECK(listed.exit_code == 0);
  CHECK(json::parse(listed.output) == json::array());
}
