// Tests of squib/uv/child_supervisor.hpp with real children (/bin/sh -c scripts) on a real
// loop. Every wait is for an event — a callback, a state change, an output line — by running
// the loop until it happens; nothing sleeps to synchronise and nothing asserts how long a
// step took. Backoff timers simply run their course (the fast-failure cases take the sum of
// the backoffs, about 3 s).

#include <squib/uv/child_supervisor.hpp>

#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <uv.h>

#include "support/catch.hpp"

namespace {

using squib::uv::ChildLaunch;
using squib::uv::ChildState;
using squib::uv::ChildSupervisor;

struct Exit {
  std::int64_t status = 0;
  int signal = 0;
  bool operator==(const Exit&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Exit& exit) {
  return out << "{status " << exit.status << ", signal " << exit.signal << "}";
}

// A loop and one supervisor whose `prepare` asks `script_for(n)` for the n-th launch (1, 2,
// …) and returns /bin/sh -c <script>. Records every callback. On destruction: stops the
// supervisor if it still has a child, runs the loop dry, requires uv_loop_close() == 0.
struct Fixture {
  uv_loop_t loop{};
  std::function<squib::core::Result<ChildLaunch>(int)> launch_for;
  int launches = 0;
  int started = 0;
  std::vector<Exit> exits;
  std::vector<ChildState> state_at_exit;
  std::vector<std::string> lines_at_exit;
  std::unique_ptr<ChildSupervisor> supervisor;

  explicit Fixture(std::function<std::string(int)> script_for)
      : Fixture([script_for = std::move(script_for)](int n) -> squib::core::Result<ChildLaunch> {
          ChildLaunch launch;
          launch.program = "/bin/sh";
          launch.args = {"-c", script_for(n)};
          return launch;
        }) {}
  explicit Fixture(std::function<squib::core::Result<ChildLaunch>(int)> launch) : launch_for(std::move(launch)) {
    REQUIRE(uv_loop_init(&loop) == 0);
    supervisor = std::make_unique<ChildSupervisor>(
        &loop, "test", "", [this] { return launch_for(++launches); }, [this] { ++started; },
        [this](std::int64_t status, int signal) {
          exits.push_back({status, signal});
          state_at_exit.push_back(supervisor->state());
          lines_at_exit.push_back(supervisor->last_lines());
        });
  }
  ~Fixture() {
    if (supervisor && supervisor->state() != ChildState::stopped) {
      bool done = false;
      supervisor->stop([&] { done = true; });
      while (!done && uv_run(&loop, UV_RUN_ONCE) != 0) {
      }
      CHECK(done);
    }
    supervisor.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  // Runs the loop one event at a time until `condition` holds (or nothing is left to wait
  // for, which fails the test instead of hanging).
  void run_until(const std::function<bool()>& condition) {
    while (!condition() && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    REQUIRE(condition());
  }
  bool output_has(const std::string& text) const { return supervisor->last_lines().find(text) != std::string::npos; }
};

// Not an unreaped child of ours: reaped already (or never ours).
bool reaped(int pid) { return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD; }

}  // namespace

TEST_CASE("ChildSupervisor keeps the child's last output lines, filtered, and its unfinished last line",
          "[uv][child_supervisor]") {
  Fixture fixture([](int n) -> std::string {
    if (n == 1) {
      return "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; done; echo; echo noise: drop me; "
             "printf 'last words'; exit 3";
    }
    return "exec sleep 1000";
  });
  fixture.supervisor->set_line_filter([](std::string_view line) { return line.starts_with("noise:"); });
  REQUIRE(fixture.supervisor->start().ok());
  CHECK(fixture.started == 1);
  CHECK(fixture.supervisor->state() == ChildState::running);
  CHECK(fixture.supervisor->pid() > 0);
  fixture.run_until([&] { return !fixture.exits.empty(); });
  CHECK(fixture.exits == std::vector<Exit>{{3, 0}});
  // k_kept_lines (8): lines 4..10 and the line without a newline; the empty line and the
  // filtered one are neither kept nor counted.
  static_assert(ChildSupervisor::k_kept_lines == 8);
  CHECK(fixture.lines_at_exit.front() == "line 4 | line 5 | line 6 | line 7 | line 8 | line 9 | line 10 | last words");
}

TEST_CASE("ChildSupervisor: a child's unfinished last line never runs into the next child's first line",
          "[uv][child_supervisor]") {
  Fixture fixture([](int n) -> std::string {
    if (n == 1) return "printf 'first child, no newline'; exit 3";
    return "echo second child; exec sleep 1000";
  });
  REQUIRE(fixture.supervisor->start().ok());
  fixture.run_until([&] { return fixture.output_has("second child"); });
  CHECK(fixture.lines_at_exit == std::vector<std::string>{"first child, no newline"});
  CHECK(fixture.supervisor->last_lines() == "first child, no newline | second child");
}

TEST_CASE("ChildSupervisor restarts a child that exits and counts the restart", "[uv][child_supervisor]") {
  Fixture fixture([](int n) -> std::string {
    if (n == 1) return "echo first; exit 3";
    return "echo second; exec sleep 1000";
  });
  REQUIRE(fixture.supervisor->start().ok());
  const int first_pid = fixture.supervisor->pid();
  fixture.run_until([&] { return fixture.started == 2; });
  CHECK(fixture.exits == std::vector<Exit>{{3, 0}});
  // `exited` ran before the restart was scheduled.
  CHECK(fixture.state_at_exit == std::vector<ChildState>{ChildState::running});
  CHECK(fixture.supervisor->restarts() == 1);
  CHECK(fixture.supervisor->reconfigurations() == 0);
  CHECK(fixture.supervisor->state() == ChildState::running);
  CHECK(fixture.supervisor->pid() != first_pid);
  CHECK(reaped(first_pid));
  fixture.run_until([&] { return fixture.output_has("second"); });
  CHECK(fixture.supervisor->last_lines() == "first | second");
}

TEST_CASE("ChildSupervisor gives up after k_max_fast_failures fast exits: state failed, no more restarts",
          "[uv][child_supervisor]") {
  Fixture fixture([](int n) { return "echo attempt " + std::to_string(n) + "; exit 7"; });
  REQUIRE(fixture.supervisor->start().ok());
  fixture.run_until([&] { return fixture.supervisor->state() == ChildState::failed; });
  static_assert(ChildSupervisor::k_max_fast_failures == 5);
  CHECK(fixture.started == 5);
  CHECK(fixture.exits == std::vector<Exit>(5, Exit{7, 0}));
  CHECK(fixture.supervisor->restarts() == 4);
  CHECK(fixture.supervisor->pid() == 0);
  CHECK(fixture.supervisor->last_lines() == "attempt 1 | attempt 2 | attempt 3 | attempt 4 | attempt 5");
  // Nothing is left on the loop: no timer, no child — running it returns, and no sixth start.
  CHECK(uv_run(&fixture.loop, UV_RUN_DEFAULT) == 0);
  CHECK(fixture.started == 5);
  CHECK(fixture.supervisor->state() == ChildState::failed);
}

TEST_CASE("ChildSupervisor: a binary that vanishes after start is retried with backoff, then failed, the error kept",
          "[uv][child_supervisor]") {
  Fixture fixture([](int n) -> squib::core::Result<ChildLaunch> {
    ChildLaunch launch;
    launch.program = n == 1 ? "/bin/sh" : "/nonexistent/squib-test-program";
    if (n == 1) launch.args = {"-c", "exit 1"};
    return launch;
  });
  REQUIRE(fixture.supervisor->start().ok());
  fixture.run_until([&] { return fixture.supervisor->state() == ChildState::failed; });
  CHECK(fixture.started == 1);
  CHECK(fixture.exits == std::vector<Exit>{{1, 0}});
  CHECK(fixture.supervisor->restarts() == 4);
  const std::string error = "spawn /nonexistent/squib-test-program: no such file or directory";
  CHECK(fixture.supervisor->last_lines() == error + " | " + error + " | " + error + " | " + error);
  CHECK(uv_run(&fixture.loop, UV_RUN_DEFAULT) == 0);
}

TEST_CASE("ChildSupervisor::start reports a missing or unusable program as an Error at once",
          "[uv][child_supervisor]") {
  SECTION("no such file") {
    Fixture fixture([](int) -> squib::core::Result<ChildLaunch> {
      ChildLaunch launch;
      launch.program = "/nonexistent/squib-test-program";
      return launch;
    });
    const auto started = fixture.supervisor->start();
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().code == ENOENT);
    CHECK(started.error().message == "spawn /nonexistent/squib-test-program: no such file or directory");
    CHECK(fixture.started == 0);
    CHECK(fixture.supervisor->pid() == 0);
    CHECK(fixture.supervisor->state() != ChildState::running);
    // No restart is scheduled: the loop has nothing to wait for.
    CHECK(uv_run(&fixture.loop, UV_RUN_DEFAULT) == 0);
    CHECK(fixture.launches == 1);
  }
  SECTION("not executable") {
    Fixture fixture([](int) -> squib::core::Result<ChildLaunch> {
      ChildLaunch launch;
      launch.program = "/etc/passwd";
      return launch;
    });
    const auto started = fixture.supervisor->start();
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().code == EACCES);
    CHECK(fixture.started == 0);
    CHECK(uv_run(&fixture.loop, UV_RUN_DEFAULT) == 0);
  }
  SECTION("prepare fails: its error, nothing spawned") {
    Fixture fixture([](int) -> squib::core::Result<ChildLaunch> { return squib::core::Error{EMFILE, "no fds"}; });
    const auto started = fixture.supervisor->start();
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().code == EMFILE);
    CHECK(started.error().message == "no fds");
    CHECK(fixture.started == 0);
    CHECK(uv_run(&fixture.loop, UV_RUN_DEFAULT) == 0);
  }
}

TEST_CASE("ChildSupervisor::stop ends the child and calls done only after it is reaped", "[uv][child_supervisor]") {
  SECTION("a child that honours SIGTERM") {
    Fixture fixture([](int) { return std::string("echo ready; exec sleep 1000"); });
    REQUIRE(fixture.supervisor->start().ok());
    fixture.run_until([&] { return fixture.output_has("ready"); });
    const int pid = fixture.supervisor->pid();
    std::optional<bool> reaped_at_done;
    std::size_t exits_at_done = 0;
    fixture.supervisor->stop([&] {
      reaped_at_done = reaped(pid);
      exits_at_done = fixture.exits.size();
    });
    CHECK(fixture.supervisor->state() == ChildState::stopping);
    CHECK_FALSE(reaped_at_done);  // not before the child is gone
    fixture.run_until([&] { return reaped_at_done.has_value(); });
    CHECK(*reaped_at_done);
    CHECK(exits_at_done == 1);
    CHECK(fixture.exits == std::vector<Exit>{{0, SIGTERM}});
    CHECK(fixture.supervisor->state() == ChildState::stopped);
    CHECK(fixture.supervisor->restarts() == 0);
    CHECK(fixture.started == 1);
  }
  SECTION("a child that ignores SIGTERM gets SIGKILL after the grace period") {
    // `trap '' TERM` sets SIG_IGN, which exec keeps (execve(2)): the sleep ignores TERM.
    Fixture fixture([](int) { return std::string("trap '' TERM; echo ready; exec sleep 1000"); });
    REQUIRE(fixture.supervisor->start().ok());
    fixture.run_until([&] { return fixture.output_has("ready"); });
    const int pid = fixture.supervisor->pid();
    std::optional<bool> reaped_at_done;
    std::size_t exits_at_done = 0;
    fixture.supervisor->stop([&] {
      reaped_at_done = reaped(pid);
      exits_at_done = fixture.exits.size();
    });
    fixture.run_until([&] { return reaped_at_done.has_value(); });
    CHECK(*reaped_at_done);
    CHECK(exits_at_done == 1);
    CHECK(fixture.exits == std::vector<Exit>{{0, SIGKILL}});
    CHECK(fixture.supervisor->state() == ChildState::stopped);
    CHECK(fixture.started == 1);
  }
  SECTION("stopped while waiting out a backoff: done at once, no restart follows") {
    Fixture fixture([](int) { return std::string("exit 3"); });
    REQUIRE(fixture.supervisor->start().ok());
    fixture.run_until([&] { return fixture.supervisor->state() == ChildState::backoff; });
    bool done = false;
    fixture.supervisor->stop([&] { done = true; });
    CHECK(done);
    CHECK(fixture.supervisor->state() == ChildState::stopped);
    CHECK(uv_run(&fixture.loop, UV_RUN_DEFAULT) == 0);  // the backoff timer is stopped
    CHECK(fixture.started == 1);
    CHECK(fixture.supervisor->restarts() == 0);
  }
}

TEST_CASE("ChildSupervisor::restart_now replaces the child with new arguments, counted as a reconfiguration",
          "[uv][child_supervisor]") {
  SECTION("a running child: SIGTERM, then an immediate respawn") {
    Fixture fixture([](int n) { return "echo gen " + std::to_string(n) + "; exec sleep 1000"; });
    REQUIRE(fixture.supervisor->start().ok());
    fixture.run_until([&] { return fixture.output_has("gen 1"); });
    const int first_pid = fixture.supervisor->pid();
    fixture.supervisor->restart_now();
    fixture.supervisor->restart_now();  // a second request before the exit: still one restart
    fixture.run_until([&] { return fixture.started == 2; });
    CHECK(fixture.exits == std::vector<Exit>{{0, SIGTERM}});
    CHECK(fixture.supervisor->reconfigurations() == 1);
    CHECK(fixture.supervisor->restarts() == 0);
    CHECK(fixture.supervisor->state() == ChildState::running);
    CHECK(fixture.supervisor->pid() != first_pid);
    CHECK(reaped(first_pid));
    fixture.run_until([&] { return fixture.output_has("gen 2"); });
    CHECK(fixture.supervisor->last_lines() == "gen 1 | gen 2");
  }
  SECTION("a child that ignores SIGTERM gets SIGKILL after the grace period, then the respawn") {
    Fixture fixture([](int n) { return "trap '' TERM; echo gen " + std::to_string(n) + "; exec sleep 1000"; });
    REQUIRE(fixture.supervisor->start().ok());
    fixture.run_until([&] { return fixture.output_has("gen 1"); });
    fixture.supervisor->restart_now();
    fixture.run_until([&] { return fixture.started == 2; });
    CHECK(fixture.exits == std::vector<Exit>{{0, SIGKILL}});
    CHECK(fixture.supervisor->reconfigurations() == 1);
    CHECK(fixture.supervisor->state() == ChildState::running);
  }
  SECTION("a child in backoff: spawned at once, without waiting for the timer") {
    Fixture fixture([](int n) -> std::string {
      if (n == 1) return "exit 3";
      return "exec sleep 1000";
    });
    REQUIRE(fixture.supervisor->start().ok());
    fixture.run_until([&] { return fixture.supervisor->state() == ChildState::backoff; });
    fixture.supervisor->restart_now();
    CHECK(fixture.started == 2);  // synchronously
    CHECK(fixture.supervisor->state() == ChildState::running);
    CHECK(fixture.supervisor->reconfigurations() == 1);
    CHECK(fixture.supervisor->restarts() == 0);
  }
  SECTION("a failed child: spawned again") {
    Fixture fixture([](int n) -> std::string {
      if (n <= 5) return "exit 7";
      return "exec sleep 1000";
    });
    REQUIRE(fixture.supervisor->start().ok());
    fixture.run_until([&] { return fixture.supervisor->state() == ChildState::failed; });
    fixture.supervisor->restart_now();
    CHECK(fixture.started == 6);
    CHECK(fixture.supervisor->state() == ChildState::running);
    CHECK(fixture.supervisor->reconfigurations() == 1);
    CHECK(fixture.supervisor->restarts() == 4);
  }
}
