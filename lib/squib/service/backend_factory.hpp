#pragma once

// BackendFactory: the one place that maps an attachment's mode (and platform) to a Backend.
// Also returns the network description `start` reports for that mode.
//
// `userspace` is made here; host/shared/bridged by the platform's KernelModes
// (service/kernel_modes.hpp), given a loop. Without a loop (unit tests) or a platform without
// kernel modes, only `userspace` is offered.

#include <functional>
#include <memory>
#include <vector>

#include <squib/backend/backend.hpp>
#include <squib/proto/messages.hpp>
#include <squib/service/backend_choice.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/service/kernel_modes.hpp>

namespace squib::service {

class BackendFactory {
 public:
  // `loop`: needed for the kernel modes (their dnsmasq children); nullptr offers userspace only.
  explicit BackendFactory(const DaemonConfig& config, uv_loop_t* loop = nullptr);
  virtual ~BackendFactory();
  BackendFactory(const BackendFactory&) = delete;
  BackendFactory& operator=(const BackendFactory&) = delete;

  // Builds (does not start) the backend for `params`. `done` runs once its network is ready
  // (host/shared: possibly later, from the loop; other modes: before make returns).
  virtual void make(const proto::StartParams& params, backend::BackendContext context, MakeCallback done);
  // Called after an attachment's backend has stopped (networks may be released).
  virtual void released(const proto::StartParams& params);

  // Daemon start, before state is restored: removes the TAPs, bridges, nft tables and dnsmasq
  // children that a dead daemon of this run dir left for the `recorded` attachments
  // (NetworkManager::cleanup_stale). No-op without networks.
  virtual void cleanup_stale(const std::vector<proto::StartParams>& recorded);
  // Daemon shutdown, after every attachment stopped: tears down every network; `done` runs
  // once every dnsmasq is reaped.
  virtual void shutdown(std::function<void()> done);
  // For `status`: the networks and their bridges (empty array without networks).
  [[nodiscard]] virtual std::vector<proto::NetworkStatus> networks() const;
  // For `status.kernel` (backend null and no capabilities without kernel modes).
  [[nodiscard]] proto::KernelStatus kernel_status() const;
  // Networks as objects (KernelModes::create_network, delete_network, list_networks,
  // cleanup_stale_networks); without kernel modes: ENOTSUP, nothing.
  void create_network(const proto::NetworkSpec& spec, proto::Origin origin, KernelModes::NetworkDone done);
  void delete_network(const std::string& name, std::function<void(core::Result<void>)> done);
  [[nodiscard]] std::vector<proto::NetworkDescription> list_networks() const;
  void cleanup_stale_networks(const std::vector<std::string>& recorded);
  // KernelModes::set_lease_observer (nothing without kernel modes).
  void set_lease_observer(KernelModes::LeaseObserver observer);

 protected:
  const DaemonConfig& m_config;
  std::unique_ptr<KernelModes> m_kernel;  // nullptr: userspace only
};

}  // namespace squib::service
