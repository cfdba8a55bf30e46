#pragma once

// UserspaceBackend: the `userspace` mode — a userspace network stack run as a supervised
// child per attachment (passt today; gvproxy and custom programs through the same path).
//
// The daemon makes a socketpair for every spawn and gives one end to the child as fd 3
// (passt `--fd 3`), so no socket path exists for anyone else to reach and passt's
// drop-to-nobody needs no writable directory (design brief §7). The other end becomes a
// StreamChannel. When the child exits or the stream breaks, the channel is dropped, frames
// from the VM are counted as backend_down, and the supervisor restarts the child with
// backoff; the VM keeps its socket and notices only a pause.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <squib/backend/backend.hpp>
#include <squib/backend/stream_channel.hpp>
#include <squib/uv/child_supervisor.hpp>

namespace squib::backend {

struct UserspaceConfig {
  std::string kind = "passt";  // passt | custom
  std::string program;         // as given (name for PATH lookup, or a path)
  std::vector<std::string> extra_args;
  std::string exec_shim;       // squib-child-exec path, or empty
};

// The argv (without argv[0]) for a preset; `{fd}` in custom args becomes the fd number.
std::vector<std::string> userspace_arguments(const UserspaceConfig& config, std::size_t mtu, int child_fd);

class UserspaceBackend final : public Backend {
public:
  UserspaceBackend(BackendContext context, UserspaceConfig config);
  ~UserspaceBackend() override;

  core::Result<void> start() override;
  void send(const core::FrameBatch& from_vm) override;
  void stop(std::function<void()> done) override;
  [[nodiscard]] BackendState state() const override;
  [[nodiscard]] std::string detail() const override;
  [[nodiscard]] int child_pid() const { return m_child ? m_child->pid() : 0; }

private:
  core::Result<uv::ChildLaunch> prepare_launch();
  void on_channel_broken(const std::string& why);

  BackendContext m_context;
  UserspaceConfig m_config;
  std::string m_program;  // resolved absolute path
  std::unique_ptr<uv::ChildSupervisor> m_child;
  std::unique_ptr<StreamChannel> m_channel;
  core::Fd m_next_parent_end;  // made by prepare_launch, adopted once the spawn succeeds
};

}  // namespace squib::backend
