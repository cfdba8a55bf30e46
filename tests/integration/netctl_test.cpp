// squib-netctl as scripts use it: exit codes (0 ok, 1 daemon error, 2 usage, 3 unreachable)
// and, with --json, every outcome — errors included — as one JSON object on stdout.

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

using namespace squib::test;

namespace {

struct Run {
  int exit_code = -1;
  std::string out;  // stdout only
};

Run netctl(const std::string& arguments) {
  FILE* pipe = ::popen((std::string(SQUIB_NETCTL_PATH) + " " + arguments + " 2>/dev/null").c_str(), "r");
  REQUIRE(pipe != nullptr);
  Run run;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) run.out.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace

TEST_CASE("squib-netctl: exit codes, and --json errors on stdout", "[integration][netctl]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const std::string control = "--control " + daemon.control_path();

  const auto unreachable = netctl("--json --control " + dir.file("nothing.sock") + " list");
  CHECK(unreachable.exit_code == 3);
  const json unreachable_json = json::parse(unreachable.out);
  CHECK(unreachable_json["error"]["exit"] == 3);
  CHECK(unreachable_json["error"]["message"].get<std::string>().starts_with("cannot reach squib-netd at "));

  const auto missing = netctl("--json " + control + " stop nosuch");
  CHECK(missing.exit_code == 1);
  CHECK(json::parse(missing.out)["error"] ==
        json{{"code", -32001}, {"message", "no attachment named 'nosuch'"}, {"exit", 1}});

  CHECK(netctl(control + " stats --count 2").exit_code == 2);  // --count needs --watch
  CHECK(netctl(control + " frobnicate").exit_code == 2);

  const auto listed = netctl("--json " + control + " list");
  CHECK(listed.exit_code == 0);
  CHECK(json::parse(listed.out) == json::array());
}
