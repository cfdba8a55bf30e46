#pragma once

// BackendFactory: the one place that maps an attachment's mode (and platform) to a Backend.
// Also returns the network description `start` reports for that mode.
//
// On Linux, given the loop, it holds the NetworkManager: `host`/`shared` attachments get a
// TapBackend on their network's bridge (made on first use, torn down by released() of the
// last attachment); `bridged` gets a TapBackend enslaved to the user's bridge, no DHCP.
// Without a loop (unit tests) or on other platforms, only `userspace` is offered here.

#include <functional>
#include <memory>
#include <optional>
#include <variant>

#include <nlohmann/json.hpp>

#include <squib/backend/backend.hpp>
#include <squib/proto/jsonrpc.hpp>
#include <squib/proto/messages.hpp>
#include <squib/service/daemon_config.hpp>

#if defined(__linux__)
#include <squib/service/network_manager.hpp>
#endif

namespace squib::service {

struct BackendChoice {
  std::unique_ptr<backend::Backend> backend;
  proto::NetworkInfo network;  // what `start` reports
  // host/shared: the guest's address, so the source guard can hold it to it (host order).
  std::optional<std::uint32_t> guest_ipv4;
};

struct BackendRefusal {
  proto::ErrorCode code;
  std::string message;
};

class BackendFactory {
public:
  // `loop`: needed for the kernel modes (their dnsmasq children); nullptr offers userspace only.
  explicit BackendFactory(const DaemonConfig& config, uv_loop_t* loop = nullptr);
  virtual ~BackendFactory();
  BackendFactory(const BackendFactory&) = delete;
  BackendFactory& operator=(const BackendFactory&) = delete;

  using MakeCallback = std::function<void(std::variant<BackendChoice, BackendRefusal>)>;
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
  [[nodiscard]] virtual nlohmann::json networks() const;

protected:
  const DaemonConfig& m_config;
#if defined(__linux__)
  std::unique_ptr<NetworkManager> m_networks;
#endif
};

}  // namespace squib::service
