#pragma once

// UserspaceBackend: the `userspace` mode — a userspace network stack run as a supervised
// child per attachment (passt, gvproxy, or a custom program; see userspace_preset.hpp).
//
// passt and custom children get one end of a fresh socketpair as fd 3 on every spawn: no
// socket path exists for anyone else to reach (design brief §7). gvproxy only listens on paths: the daemon connects to
// its socket in the run dir once it appears (polled every k_connect_interval, for at most k_connect_timeout), sending
// the vfkit "VFKT" handshake first in datagram framing.
//
// Ready means the child serves: its link is connected and, for passt, passt has written its
// PID file, which it does after its configuration is done and its forwarded ports are bound,
// just before its main loop (passt.c). A child that exits first — passt without a route, a
// forward it cannot bind — is the step's error with its last words, and no restart follows
// for a start; a failed reconfiguration (set_forwards) puts the previous forwards back. The
// PID files live in <run-dir>/passt, owned by nobody (the user passt switches to) and watched
// with uv_fs_event (inotify): no polling.
//
// When a running child exits or its link breaks, the link is dropped, frames from the VM
// count as backend_down, and the supervisor restarts the child with backoff; the VM keeps its
// socket and sees only a pause.
//
// Hand-off (config.handoff, passt only; `start` with handoff "fd"): the link is still a
// SOCK_STREAM socketpair whose one end passt gets as --fd (the QEMU stream protocol: 4-byte
// big-endian length, then the frame), but the daemon does not relay: its end is kept until
// the registry takes it (take_handoff_fd) and sends it with the start reply, and the VMM
// talks to passt directly. Ready is as above minus the channel (passt's PID file). passt is
// still supervised and stopped by stop(), but it cannot be restarted: the VMM holds the
// only other end of its link, and a new passt would get a new pair nobody talks to. So a
// passt that dies is reported (child_exit) and the state becomes `failed`; set_forwards and
// restart() are refused (stop and start the attachment instead). No frame passes the daemon:
// the attachment's counters stay 0.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <squib/backend/backend.hpp>
#include <squib/backend/channel.hpp>
#include <squib/backend/userspace_preset.hpp>
#include <squib/uv/child_supervisor.hpp>

namespace squib::backend {

class UserspaceBackend final : public Backend {
 public:
  static constexpr std::chrono::milliseconds k_connect_interval{50};
  static constexpr std::chrono::milliseconds k_connect_timeout{10'000};
  // A start or reconfiguration that has not become ready by then has failed.
  static constexpr std::chrono::milliseconds k_ready_timeout{15'000};

  UserspaceBackend(BackendContext context, UserspaceConfig config);
  ~UserspaceBackend() override;

  void start(Done ready) override;
  void send(const core::FrameBatch& from_vm) override;
  void stop(std::function<void()> done) override;
  // passt: restarts the child with the new -t/-u options (a pause of the link; passt learns
  // the guest's MAC again from its next frame); `applied` runs once the new passt is ready.
  // gvproxy: not yet (its HTTP services API).
  void set_forwards(const std::vector<core::PortForward>& forwards, Done applied) override;
  core::Result<void> restart() override;
  [[nodiscard]] BackendState state() const override;
  [[nodiscard]] std::string detail() const override;
  // Hand-off: after `ready`, the VMM's end of passt's link (once; the backend keeps no copy).
  core::Fd take_handoff_fd() override { return std::move(m_handoff_fd); }

 private:
  // The step (start, reconfiguration) waiting to be ready; at most one at a time.
  struct PendingStep {
    Done done;
    std::optional<std::vector<core::PortForward>> previous_forwards;  // a reconfiguration's
  };

  core::Result<void> prepare_pid_watch();
  core::Result<uv::ChildLaunch> prepare_launch();
  void on_spawned();
  void on_exited(std::int64_t exit_status, int term_signal);
  void begin_step(PendingStep step);
  static void on_step_timer(uv_timer_t* timer);  // the deadline, or a deferred failure
  void check_ready();
  [[nodiscard]] bool pid_file_names_child() const;
  void fail_step(core::Error error);  // runs the step's end on the next loop turn
  void end_step(core::Result<void> outcome);
  void try_connect();
  void adopt_link(core::Fd fd);
  void restart_child();
  void on_link_broken(const std::string& why);

  BackendContext m_context;
  UserspaceConfig m_config;
  UserspaceLaunchPlan m_plan;
  std::string m_program;  // resolved absolute path
  std::unique_ptr<uv::ChildSupervisor> m_child;
  std::unique_ptr<Channel> m_channel;
  core::Fd m_next_parent_end;   // made by prepare_launch, adopted once the spawn succeeds
  core::Fd m_handoff_fd;        // hand-off: the VMM's end, until taken
  bool m_handed_off = false;    // hand-off: passt's link exists (the VMM's end made)
  bool m_handoff_lost = false;  // hand-off: passt died after its start; cannot come back
  uv::Handle<uv_timer_t> m_connect_timer;
  std::chrono::steady_clock::time_point m_connect_deadline{};
  bool m_reconfiguring = false;  // set_forwards asked the supervisor for a restart
  std::optional<PendingStep> m_step;
  std::optional<core::Error> m_step_failure;  // waiting for m_step_timer's next turn
  std::string m_not_ready_because;            // the last link problem seen during a step
  std::string m_pid_path;                     // passt's --pid file; empty for others
  uv::Handle<uv_fs_event_t> m_pid_watch;
  uv::Handle<uv_timer_t> m_step_timer;  // a step's deadline, or its deferred failure
};

}  // namespace squib::backend
