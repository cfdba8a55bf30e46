#pragma once

// KernelModes: the `host`, `shared` and `bridged` modes, which the operating system's own
// networking serves — on Linux a TAP per attachment on a bridge with dnsmasq and nftables
// (platform/linux/kernel_modes.cpp), on macOS vmnet.framework. One implementation per
// platform, picked by CMake (lib/CMakeLists.txt), never by #if; a build without one
// (platform/generic/no_kernel_modes.cpp) offers `userspace` only. BackendFactory holds it.

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/backend/backend.hpp>
#include <squib/core/result.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/network_messages.hpp>
#include <squib/service/backend_choice.hpp>
#include <squib/service/daemon_config.hpp>

namespace squib::service {

class KernelModes {
 public:
  virtual ~KernelModes() = default;
  KernelModes(const KernelModes&) = delete;
  KernelModes& operator=(const KernelModes&) = delete;

  // As BackendFactory::make, for params.mode host, shared or bridged.
  virtual void make(const proto::StartParams& params, backend::BackendContext context, MakeCallback done) = 0;
  // After such an attachment's backend stopped: its network may go.
  virtual void released(const proto::StartParams& params) = 0;
  // Daemon start: removes what a dead daemon of this run dir left for `recorded`.
  virtual void cleanup_stale(const std::vector<proto::StartParams>& recorded) = 0;
  // Daemon shutdown, after every attachment stopped; `done` once everything is released.
  virtual void shutdown(std::function<void()> done) = 0;
  // For `status`: the networks.
  [[nodiscard]] virtual std::vector<proto::NetworkStatus> describe() const = 0;

  // Networks as objects (issue 15, proto/network_messages.hpp). create_network makes the
  // network now and keeps it while declared, attachments or not (a network made implicitly by
  // a `start` becomes declared); `done` once it is ready or failed (EINVAL errors start with
  // the field name: -32602; EEXIST: a different spec of an existing declared network).
  // delete_network: ENOENT unknown, EBUSY while attachments use it (the caller stops them
  // first when forced); `done` once everything of it is gone. Kernel modes without networks
  // of their own answer ENOTSUP.
  using NetworkDone = std::function<void(core::Result<proto::NetworkDescription>)>;
  virtual void create_network(const proto::NetworkSpec& spec, proto::Origin origin, NetworkDone done) {
    (void)spec, (void)origin;
    done(core::Error{ENOTSUP, "networks: this platform's kernel modes have no networks of their own"});
  }
  virtual void delete_network(const std::string& name, std::function<void(core::Result<void>)> done) {
    (void)name;
    done(core::Error{ENOTSUP, "networks: this platform's kernel modes have no networks of their own"});
  }
  // Daemon start: removes what a dead daemon left of the networks state.json and the config
  // declare (by name), as cleanup_stale does for attachments' networks.
  virtual void cleanup_stale_networks(const std::vector<std::string>& recorded) { (void)recorded; }
  // Every network, declared or implicit; attachments' names unfiltered (the caller filters).
  [[nodiscard]] virtual std::vector<proto::NetworkDescription> list_networks() const { return {}; }
  // For `status.kernel`: the backend's name and what this OS offers (`os` is filled in by
  // the caller).
  [[nodiscard]] virtual proto::KernelStatus kernel_status() const = 0;
  // Told each DHCP lease the network's server gives (Linux: dnsmasq's lease file), for
  // `subscribe`'s `lease` events; nullptr stops it. Kernel modes without one ignore it.
  using LeaseObserver = std::function<void(const std::string& network, const std::string& mac,
                                           const std::string& address, const std::string& hostname)>;
  virtual void set_lease_observer(LeaseObserver observer) { (void)observer; }

 protected:
  KernelModes() = default;
};

// This platform's kernel modes, or nullptr where the build has none.
std::unique_ptr<KernelModes> make_kernel_modes(uv_loop_t* loop, const DaemonConfig& config);

}  // namespace squib::service
