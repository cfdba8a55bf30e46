// KernelModes on Linux: `host`/`shared` attachments get a TapBackend on their network's
// bridge (NetworkManager: bridge, nft table and dnsmasq, made on first use, torn down when
// the last attachment is released); `bridged` gets a TapBackend enslaved to the user's
// bridge, no DHCP.

#include <squib/service/kernel_modes.hpp>

#include <squib/backend/tap_backend.hpp>
#include <squib/service/network_manager.hpp>

namespace squib::service {

namespace {

class LinuxKernelModes final : public KernelModes {
 public:
  LinuxKernelModes(uv_loop_t* loop, const DaemonConfig& config) : m_config(config), m_networks(loop, config) {}

  void make(const proto::StartParams& params, backend::BackendContext context, MakeCallback done) override {
    backend::TapConfig tap;
    tap.ifname = backend::tap_name(m_config.run_dir, params.name);
    tap.isolated = params.isolation;
    if (params.mode == proto::Mode::bridged) {
      tap.master = *params.bridge;  // the parser requires it for bridged
      BackendChoice choice;
      choice.network.name = params.network;
      choice.network.bridge = tap.master;
      choice.network.tap = tap.ifname;
      choice.backend = std::make_unique<backend::TapBackend>(std::move(context), std::move(tap));
      return done(std::move(choice));
    }
    m_networks.acquire(params, [context = std::move(context), tap = std::move(tap),
                                done = std::move(done)](core::Result<NetworkLease> lease) mutable {
      if (!lease) {
        const auto code =
            lease.error().code == EINVAL ? proto::ErrorCode::invalid_params : proto::ErrorCode::backend_failed;
        return done(BackendRefusal{code, lease.error().message});
      }
      tap.master = lease->bridge;
      BackendChoice choice;
      choice.network = std::move(lease->network);
      choice.network.tap = tap.ifname;
      choice.guest_ipv4 = lease->address;
      choice.backend = std::make_unique<backend::TapBackend>(std::move(context), std::move(tap));
      done(std::move(choice));
    });
  }

  void released(const proto::StartParams& params) override {
    if (params.mode == proto::Mode::host || params.mode == proto::Mode::shared) m_networks.release(params);
  }
  void cleanup_stale(const std::vector<proto::StartParams>& recorded) override { m_networks.cleanup_stale(recorded); }
  void shutdown(std::function<void()> done) override { m_networks.shutdown(std::move(done)); }
  [[nodiscard]] std::vector<proto::NetworkStatus> describe() const override { return m_networks.describe(); }
  // What this daemon does with the kernel's bridge on every Linux it supports; offloads
  // (TSO/virtio-net headers on the TAP) are not used.
  [[nodiscard]] proto::KernelStatus kernel_status() const override {
    return {"bridge", {}, {{"isolation", true}, {"bridged", true}, {"tso", false}, {"network_objects", false}}};
  }

 private:
  const DaemonConfig& m_config;
  NetworkManager m_networks;
};

}  // namespace

std::unique_ptr<KernelModes> make_kernel_modes(uv_loop_t* loop, const DaemonConfig& config) {
  return std::make_unique<LinuxKernelModes>(loop, config);
}

}  // namespace squib::service
