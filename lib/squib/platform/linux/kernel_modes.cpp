// KernelModes on Linux: `host`/`shared` attachments get a TapBackend on their network's
// bridge (NetworkManager: bridge, nft table and dnsmasq, made on first use, torn down when
// the last attachment is released); `bridged` gets a TapBackend enslaved to the user's
// bridge, no DHCP. With `handoff` the attachment gets a TapHandoffBackend instead: the same
// TAP on the same bridge, made for the VMM to open itself, guarded by nft rules
// (backend/tap_handoff_backend.hpp).

#include <squib/service/kernel_modes.hpp>

#include <set>

#include <spdlog/spdlog.h>

#include <squib/backend/tap_backend.hpp>
#include <squib/backend/tap_handoff_backend.hpp>
#include <squib/backend/tap_stats_poller.hpp>
#include <squib/platform/linux/netlink.hpp>
#include <squib/platform/linux/nft.hpp>
#include <squib/platform/linux/nft_queue.hpp>
#include <squib/platform/linux/tap_policy.hpp>
#include <squib/service/network_manager.hpp>

namespace squib::service {

namespace {

// A network that could not be joined: EINVAL names a parameter (-32602), anything else is
// the backend's failure. Out of line: GCC 12 sees a false maybe-uninitialized through the
// Result's variant when this is inlined into the callbacks.
[[gnu::noinline]] BackendRefusal refusal_of(const core::Error& error) {
  return BackendRefusal{error.code == EINVAL ? proto::ErrorCode::invalid_params : proto::ErrorCode::backend_failed,
                        error.message};
}

class LinuxKernelModes final : public KernelModes {
 public:
  LinuxKernelModes(uv_loop_t* loop, const DaemonConfig& config)
      : m_config(config), m_networks(loop, config), m_handoff_nft(loop), m_tap_stats(loop) {}

  void make(const proto::StartParams& params, backend::BackendContext context, MakeCallback done) override {
    if (params.handoff) return make_handoff(params, std::move(context), std::move(done));
    backend::TapConfig tap;
    tap.ifname = backend::tap_name(m_config.run_dir, params.name);
    isolate(tap, params.isolation);
    if (params.mode == proto::Mode::bridged) {
      tap.master = *params.bridge;  // the parser requires it for bridged
      BackendChoice choice;
      choice.network.name = params.network;
      choice.network.bridge = tap.master;
      choice.network.tap = tap.ifname;
      choice.backend = std::make_unique<backend::TapBackend>(std::move(context), std::move(tap));
      return done(std::move(choice));
    }
    m_networks.acquire(params, [this, context = std::move(context), tap = std::move(tap),
                                done = std::move(done)](core::Result<NetworkLease> lease) mutable {
      if (!lease) return done(refusal_of(lease.error()));
      tap.master = lease->bridge;
      if (lease->isolation && !tap.isolated) isolate(tap, true);  // the network isolates all
      fit_mtu(context, lease.value());
      BackendChoice choice;
      choice.network = std::move(lease->network);
      choice.network.tap = tap.ifname;
      choice.guest_ipv4 = lease->address;
      choice.mtu = lease->mtu;
      choice.backend = std::make_unique<backend::TapBackend>(std::move(context), std::move(tap));
      done(std::move(choice));
    });
  }

  void create_network(const proto::NetworkSpec& spec, proto::Origin origin, NetworkDone done) override {
    m_networks.create_network(spec, origin, std::move(done));
  }
  void delete_network(const std::string& name, std::function<void(core::Result<void>)> done) override {
    m_networks.delete_network(name, std::move(done));
  }
  [[nodiscard]] std::vector<proto::NetworkDescription> list_networks() const override {
    return m_networks.list_networks();
  }
  void cleanup_stale_networks(const std::vector<std::string>& recorded) override {
    m_networks.cleanup_stale_networks(recorded);
  }

  void released(const proto::StartParams& params) override {
    if (params.mode == proto::Mode::host || params.mode == proto::Mode::shared) m_networks.release(params);
  }
  void cleanup_stale(const std::vector<proto::StartParams>& recorded) override {
    // A handed-off TAP that outlived the previous daemon (kill -9) may carry a running VM:
    // its attachment is restored onto it (adopted), never removed here. NetworkManager's
    // cleanup leaves handed-off TAPs alone for the same reason; their tables are re-applied
    // in place when the attachment is restored (tap_policy.hpp).
    std::set<std::string> recorded_tables;
    auto netlink = platform::Netlink::open();
    for (const auto& params : recorded) {
      if (!params.handoff || params.mode == proto::Mode::userspace) continue;
      const std::string ifname = backend::tap_name(m_config.run_dir, params.name);
      recorded_tables.insert(platform::tap_policy_table(ifname));
      if (!netlink) continue;
      if (auto link = netlink->find_link(ifname); link && link.value() && link.value()->kind == "tun") {
        m_adoptable.insert(params.name);
      }
    }
    // Handed-off TAPs this run dir's daemon made but state.json no longer records (a crash
    // between recording a `stop` and removing them): their tables carry our comment.
    if (auto listed = platform::run_nft({"list", "tables", "bridge"})) {
      const std::string owner = platform::tap_policy_owner(m_config.run_dir);
      for (const auto& table : platform::tap_policy_tables(listed.value())) {
        if (recorded_tables.contains(table)) continue;
        auto listing = platform::run_nft({"list", "table", "bridge", table});
        if (!listing || !platform::tap_policy_owned_by(listing.value(), owner)) continue;  // another daemon's
        (void)platform::run_nft({"-f", "-"}, platform::tap_policy_delete_script(table));
        const std::string ifname = platform::tap_policy_ifname(table);
        if (netlink) {
          if (auto link = netlink->find_link(ifname); link && link.value() && link.value()->kind == "tun") {
            (void)netlink->delete_link(ifname);
          }
        }
        spdlog::warn("removed stale handed-off TAP {} and nft table bridge {}", ifname, table);
      }
    }
    m_networks.cleanup_stale(recorded);
  }
  void shutdown(std::function<void()> done) override { m_networks.shutdown(std::move(done)); }
  void set_lease_observer(LeaseObserver observer) override { m_networks.set_lease_observer(std::move(observer)); }
  [[nodiscard]] std::vector<proto::NetworkStatus> describe() const override { return m_networks.describe(); }
  // What this daemon does with the kernel's bridge on every Linux it supports; offloads
  // (TSO/virtio-net headers on the TAP) are not used.
  [[nodiscard]] proto::KernelStatus kernel_status() const override {
    return {"bridge",
            {},
            {{"isolation", true}, {"bridged", true}, {"tso", false}, {"network_objects", true}, {"handoff", true}}};
  }

 private:
  // backend/tap_backend.hpp: an isolated relayed TAP gets the handed-off TAPs' isolation
  // chain, counted.
  void isolate(backend::TapConfig& tap, bool isolated) {
    tap.isolated = isolated;
    if (!isolated) return;
    tap.isolation_table = platform::tap_policy_table(tap.ifname);
    tap.owner = platform::tap_policy_owner(m_config.run_dir);
    tap.nft = &m_handoff_nft;
    tap.stats_poller = &m_tap_stats;
  }
  // An attachment asking a larger MTU than its network's gets the network's (BackendChoice.mtu
  // tells the registry, which reports and logs it).
  static void fit_mtu(backend::BackendContext& context, const NetworkLease& lease) {
    if (context.mtu > lease.mtu) context.mtu = lease.mtu;
  }

  void make_handoff(const proto::StartParams& params, backend::BackendContext context, MakeCallback done) {
    backend::TapHandoffConfig config;
    config.policy.ifname = backend::tap_name(m_config.run_dir, params.name);
    config.policy.table = platform::tap_policy_table(config.policy.ifname);
    config.policy.owner = platform::tap_policy_owner(m_config.run_dir);
    config.policy.mac = context.mac;
    config.policy.isolated = params.isolation;
    config.policy.check_ip = params.guard == proto::Guard::full;
    const proto::Owner owner = params.owner.value_or(proto::Owner{});  // the registry always fills it
    config.tap = {owner.uid, owner.gid, params.queues};
    config.mtu = params.mtu;
    config.pass_fd = params.handoff == proto::Handoff::fd;
    config.adopt = m_adoptable.erase(params.name) > 0;
    config.nft = &m_handoff_nft;
    config.stats_poller = &m_tap_stats;
    if (params.mode == proto::Mode::bridged) {
      config.master = *params.bridge;  // the parser requires it for bridged
      BackendChoice choice;
      choice.network.name = params.network;
      choice.network.bridge = config.master;
      choice.network.tap = config.policy.ifname;
      choice.backend = std::make_unique<backend::TapHandoffBackend>(std::move(context), std::move(config));
      return done(std::move(choice));
    }
    m_networks.acquire(params, [context = std::move(context), config = std::move(config),
                                done = std::move(done)](core::Result<NetworkLease> lease) mutable {
      if (!lease) return done(refusal_of(lease.error()));
      config.master = lease->bridge;
      config.policy.isolated = config.policy.isolated || lease->isolation;
      if (config.mtu > lease->mtu) config.mtu = lease->mtu;
      config.policy.ipv4 = lease->address;
      if (lease->network.address6) config.policy.ipv6 = core::parse_ipv6(*lease->network.address6);
      BackendChoice choice;
      choice.network = std::move(lease->network);
      choice.network.tap = config.policy.ifname;
      choice.guest_ipv4 = lease->address;
      choice.mtu = lease->mtu;
      choice.backend = std::make_unique<backend::TapHandoffBackend>(std::move(context), std::move(config));
      done(std::move(choice));
    });
  }

  const DaemonConfig& m_config;
  NetworkManager m_networks;
  // The TAPs' tables, handed-off and isolated relayed (their own queue: they never share a
  // table with a network).
  platform::NftQueue m_handoff_nft;
  // Their kernel counters, for all of them at once.
  backend::TapStatsPoller m_tap_stats;
  // Restored attachments whose TAP survived the previous daemon (see cleanup_stale).
  std::set<std::string> m_adoptable;
};

}  // namespace

std::unique_ptr<KernelModes> make_kernel_modes(uv_loop_t* loop, const DaemonConfig& config) {
  return std::make_unique<LinuxKernelModes>(loop, config);
}

}  // namespace squib::service
