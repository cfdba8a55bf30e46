// squib-netctl as scripts use it: exit codes (0 ok, 1 daemon error, 2 usage, 3 unreachable)
// and, with --json, every outcome — errors included — as one JSON object on stdout.

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
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

TEST_CASE("squib-netctl bash completion: commands and options from --help, names from the daemon",
          "[integration][netctl]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const std::string control = "--control " + daemon.control_path();
  for (const char* name : {"alpha", "beta"}) {
    const auto started = netctl(control + " start " + name + " --mode userspace --userspace custom --userspace-path " +
                                SQUIB_ECHO_PEER_PATH + " --userspace-arg {fd} --userspace-arg echo");
    REQUIRE(started.exit_code == 0);
  }
  // COMPREPLY of the completion function for the words of a command line being typed (the
  // last word is the one under the cursor), one per line, sorted. The words are bash words.
  const std::string script_path = dir.file("complete.sh");
  const auto complete = [&](const std::string& words) {
    {
      std::ofstream script(script_path, std::ios::trunc);
      script << "source " SQUIB_COMPLETION_PATH "\n"
             << "COMP_WORDS=(" SQUIB_NETCTL_PATH " " << words << ")\n"
             << "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
             << "_squib_netctl\n"
             << "((${#COMPREPLY[@]} == 0)) || printf '%s\\n' \"${COMPREPLY[@]}\" | sort\n";
    }
    const auto run = run_command("bash " + script_path + " 2>&1");
    REQUIRE(run.exit_code == 0);
    return run.output;
  };
  CHECK(complete("st") == "start\nstats\nstatus\nstop\n");
  CHECK(complete("start vm --ha") == "--handoff\n");
  CHECK(complete("start vm --mode ''") == "bridged\nhost\nshared\nuserspace\n");
  CHECK(complete("stats --w") == "--watch\n");
  CHECK(complete("--json " + control + " stop ''") == "alpha\nbeta\n");
  CHECK(complete(control + " forward b") == "beta\n");
  CHECK(complete(control + " forward beta ''") == "tcp\nudp\n");
  CHECK(complete(control + " start newvm ''").empty());  // a new name: nothing to offer
}
