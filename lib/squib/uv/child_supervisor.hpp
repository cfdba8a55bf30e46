#pragma once

// ChildSupervisor: runs one helper program (passt, gvproxy, dnsmasq) for as long as its
// owner wants it, the way a mature supervisor would (design brief §1):
//
// - start() spawns it once and reports a missing or non-executable binary as an Error at
//   once, so `start` on the control socket fails clearly instead of crash-looping.
// - Its stdout/stderr are read line by line and logged with the owner's name; the last
//   k_kept_lines are kept for `list`/`stats` when it fails.
// - When it exits, it is reaped (libuv's SIGCHLD handling), logged and counted; it is
//   restarted after a capped exponential backoff (k_first_backoff doubling to k_max_backoff).
//   k_max_fast_failures exits in a row, each within k_fast_failure_window of its spawn,
//   mean it cannot run: the state becomes `failed` and no more restarts happen (no busy loop).
// - stop() sends SIGTERM, then SIGKILL after k_kill_grace, and calls `done` only after the
//   child is reaped: no shutdown path leaves a child or a zombie.
// - Every spawn goes through the `squib-child-exec` shim when one is configured: it sets
//   PR_SET_PDEATHSIG(SIGKILL) so the child dies with the daemon even on kill -9.

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>
#include <squib/uv/handle.hpp>

namespace squib::uv {

// One launch of the child: program, arguments and the fds it inherits as 3, 4, ….
struct ChildLaunch {
  std::string program;              // absolute path (resolve_program() makes one)
  std::vector<std::string> args;    // argv[1..]
  std::vector<core::Fd> extra_fds;  // become the child's fds 3, 4, … (closed here after spawn)
};

enum class ChildState { idle, running, backoff, failed, stopping, stopped };

class ChildSupervisor {
 public:
  using Prepare = std::function<core::Result<ChildLaunch>()>;
  using Started = std::function<void()>;
  using Exited = std::function<void(std::int64_t exit_status, int term_signal)>;

  static constexpr std::size_t k_kept_lines = 8;
  static constexpr std::chrono::milliseconds k_first_backoff{200};
  static constexpr std::chrono::milliseconds k_max_backoff{10'000};
  static constexpr std::chrono::milliseconds k_fast_failure_window{3'000};
  static constexpr int k_max_fast_failures = 5;
  static constexpr std::chrono::milliseconds k_kill_grace{1'000};

  // `prepare` runs before every spawn (fresh socketpairs each time); `started` after every
  // successful spawn; `exited` after every reaped exit, before any restart is scheduled —
  // it may call stop() to have none.
  // `exec_shim`: path of squib-child-exec, or empty to spawn directly.
  ChildSupervisor(uv_loop_t* loop, std::string log_name, std::string exec_shim, Prepare prepare, Started started,
                  Exited exited);
  ~ChildSupervisor();
  ChildSupervisor(const ChildSupervisor&) = delete;
  ChildSupervisor& operator=(const ChildSupervisor&) = delete;

  // Output lines for which `filter` returns true are neither logged nor kept (e.g. passt's
  // "Failed to send … to syslog" noise when no syslog socket exists).
  void set_line_filter(std::function<bool(std::string_view)> filter) { m_line_filter = std::move(filter); }

  core::Result<void> start();
  void stop(std::function<void()> done);
  // Replaces a running child at once (new arguments from `prepare`): SIGTERM (SIGKILL after
  // the kill grace, as stop() does), then the next spawn happens on its exit without backoff
  // and without counting as a failure.
  void restart_now();

  [[nodiscard]] ChildState state() const { return m_state; }
  [[nodiscard]] int pid() const { return m_pid; }
  // Restarts after the child died on its own (crashes, failures to start).
  [[nodiscard]] std::uint64_t restarts() const { return m_restarts; }
  // Restarts the owner asked for with restart_now() (new arguments), counted apart.
  [[nodiscard]] std::uint64_t reconfigurations() const { return m_reconfigurations; }
  [[nodiscard]] std::string last_lines() const;

 private:
  core::Result<void> spawn();
  void on_exit(std::int64_t exit_status, int term_signal);
  void on_output(std::string_view chunk);
  void drain_output();
  void schedule_restart();
  void finish_stop();
  // SIGTERM now, SIGKILL if the child is still there after k_kill_grace.
  void terminate();

  uv_loop_t* m_loop;
  std::string m_log_name;
  std::string m_exec_shim;
  Prepare m_prepare;
  Started m_started;
  Exited m_exited;

  Handle<uv_process_t> m_process;
  Handle<uv_pipe_t> m_output;
  Handle<uv_timer_t> m_timer;  // backoff, then kill grace while stopping
  ChildState m_state = ChildState::idle;
  int m_pid = 0;
  std::uint64_t m_restarts = 0;
  std::uint64_t m_reconfigurations = 0;
  int m_fast_failures = 0;
  bool m_restart_requested = false;
  std::chrono::milliseconds m_backoff = k_first_backoff;
  std::chrono::steady_clock::time_point m_spawned_at{};
  std::string m_partial_line;
  std::deque<std::string> m_lines;
  std::function<void()> m_stop_done;
  std::function<bool(std::string_view)> m_line_filter;
};

// Finds `name` (with no '/') in PATH, or checks an explicit path; the result is absolute and
// executable, or an Error naming what was looked for.
core::Result<std::string> resolve_program(const std::string& name);

}  // namespace squib::uv
