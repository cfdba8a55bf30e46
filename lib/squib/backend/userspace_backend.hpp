#pragma once

// UserspaceBackend: the `userspace` mode — a userspace network stack run as a supervised
// child per attachment (passt, gvproxy, or a custom program; see userspace_preset.hpp).
//
// passt and custom children get one end of a fresh socketpair as fd 3 on every spawn: no
// socket path exists for anyone else to reach, and passt's drop to nobody needs no writable
// directory (design brief §7). gvproxy only listens on paths: the daemon connects to its
// socket in the run dir once it appears (polled every k_connect_interval, for at most
// k_connect_timeout), sending the vfkit "VFKT" handshake first in datagram framing.
//
// When the child exits or its link breaks, the link is dropped, frames from the VM count as
// backend_down, and the supervisor restarts the child with backoff; the VM keeps its socket
// and sees only a pause.

#include <chrono>
#include <memory>
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

  UserspaceBackend(BackendContext context, UserspaceConfig config);
  ~UserspaceBackend() override;

  core::Result<void> start() override;
  void send(const core::FrameBatch& from_vm) override;
  void stop(std::function<void()> done) override;
  // passt: restarts the child with the new -t/-u options (a pause of the link; passt learns
  // the guest's MAC again from its next frame). gvproxy: not yet (its HTTP services API).
  core::Result<void> set_forwards(const std::vector<core::PortForward>& forwards) override;
  core::Result<void> restart() override;
  [[nodiscard]] BackendState state() const override;
  [[nodiscard]] std::string detail() const override;

private:
  core::Result<uv::ChildLaunch> prepare_launch();
  void on_spawned();
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
  core::Fd m_next_parent_end;  // made by prepare_launch, adopted once the spawn succeeds
  uv::Handle<uv_timer_t> m_connect_timer;
  std::chrono::steady_clock::time_point m_connect_deadline{};
  bool m_reconfiguring = false;  // set_forwards asked the supervisor for a restart
};

}  // namespace squib::backend
