#pragma once

// NetworkManager (Linux): the daemon-owned networks behind `host` and `shared` attachments,
// built the way libvirt's default network is built.
//
// Theory of operation:
// - A network is created by the first attachment that names it and lives while any
//   attachment uses it (release() of the last one tears it down). It consists of
//     bridge   sqbr-<h>    (h = 10 hex digits of FNV-1a(network name); IFNAMSIZ), with the
//                          gateway address (.1 of the subnet) and up;
//     nft      table inet squib_<h>: forward/masquerade rules (platform/linux/nft.hpp),
//                          created and removed atomically with `nft -f -`;
//     dnsmasq  one supervised child (uv::ChildSupervisor: reaped, restarted with backoff,
//                          stopped with the network) serving DHCP on the bridge only, and
//                          DNS in shared mode (--port=0 in host mode);
//     files    <run-dir>/net-<h>.hosts (static leases, MAC → address), .leases, .pid.
// - Static leases: every attachment gets an address derived from its MAC (FNV-1a of the
//   MAC, probed linearly past addresses in use), written to the hosts file dnsmasq reads
//   (--dhcp-hostsfile, re-read on SIGHUP). The MAC is stable per attachment name, so a VM
//   gets the same address after a stop/start or a daemon restart.
// - Subnet: `subnet` applies when the network is created (default: the daemon default,
//   192.168.105.0/24, for the first network that does not name one; later networks without
//   one take the next free /24 above it). A different subnet for an existing network, a
//   subnet overlapping another network's, or a mode different from the network's is an
//   EINVAL Error whose message starts with the field name (the factory maps it to -32602).
// - shared mode sets net.ipv4.ip_forward=1 in the daemon's network namespace (as libvirt
//   does) and puts back the value it found when the last shared network goes; host-mode
//   networks stay closed by their own nft table.
// - Asynchronous, never waiting on the loop: the bridge is made with rtnetlink (a kernel
//   round trip), the nft table by an `nft` child collected on the loop, dnsmasq is spawned.
//   acquire() answers through its callback once the network is ready (or failed); attachments
//   that ask for a network while it is being created wait for the same outcome. Every nft
//   job of the manager runs through one queue, in order, so a table's delete can never
//   overtake its create.
// - Addresses: a guest's address is the one its `address` parameter names (persisted by the
//   registry, so a restart restores exactly it), else derived from its MAC as above.
// - Names are scoped by the run dir (network_hash, backend::tap_name), so several daemons
//   with different run dirs share one network namespace without touching each other.
// - cleanup_stale(): before restoring state, the daemon removes what a dead daemon of the
//   same run dir left: the TAPs, bridges and `inet squib_*` tables named after the
//   attachments and networks its state.json records, and any dnsmasq whose pid file is in
//   the run dir. dnsmasq needs this: it drops privileges, which clears the PR_SET_PDEATHSIG
//   set by squib-child-exec, so it can outlive a kill -9. It runs before the loop serves
//   anyone, so its calls are synchronous; everything after is not (see above).

#include <cstdint>
#include <deque>
#include <optional>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include <squib/core/result.hpp>
#include <squib/platform/linux/ipv4_subnet.hpp>
#include <squib/proto/messages.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/uv/child_supervisor.hpp>
#include <squib/uv/handle.hpp>
#include <squib/uv/retirement.hpp>

namespace squib::service {

// The default subnet of socket_vmnet and lima (192.168.105.0/24).
inline constexpr std::string_view k_default_subnet = "192.168.105.0/24";

struct NetworkLease {
  std::string bridge;          // the bridge the attachment's TAP joins
  std::uint32_t address = 0;   // the guest's static DHCP address, host byte order
  proto::NetworkInfo network;  // what `start` reports
};
using LeaseCallback = std::function<void(core::Result<NetworkLease>)>;

// `sqbr-` + 10 hex digits of FNV-1a-64(network name); the table is `squib_` + the same.
// 10 hex digits of FNV-1a of the network name within `scope` (the daemon's run dir): the
// bridge is sqbr-<hash>, the nft table squib_<hash>, the files net-<hash>.*.
std::string network_hash(std::string_view scope, std::string_view network_name);

struct DnsmasqPlan {
  std::string bridge;
  platform::Ipv4Subnet subnet;
  bool dns = false;  // shared mode serves DNS on the gateway; host mode runs DHCP only
  std::string hosts_path;
  std::string lease_path;
  std::string pid_path;
};
std::vector<std::string> dnsmasq_arguments(const DnsmasqPlan& plan);

class NetworkManager {
public:
  NetworkManager(uv_loop_t* loop, const DaemonConfig& config);
  ~NetworkManager();
  NetworkManager(const NetworkManager&) = delete;
  NetworkManager& operator=(const NetworkManager&) = delete;

  // Removes what a dead daemon left behind (see above). Call once, before restoring state.
  // `recorded`: the attachments of this run dir's state.json.
  void cleanup_stale(const std::vector<proto::StartParams>& recorded);

  // Joins (creating if needed) the network `params.network` for a host/shared attachment.
  // `done` runs once the network is ready or has failed — at once when it already exists.
  void acquire(const proto::StartParams& params, LeaseCallback done);
  // The attachment `params.name` left its network; the last one out tears it down.
  void release(const proto::StartParams& params);
  // Tears every network down; `done` runs once every dnsmasq is reaped.
  void shutdown(std::function<void()> done);

  // For `status`: [{name, mode, bridge, subnet, gateway, attachments, dnsmasq_pid}].
  [[nodiscard]] nlohmann::json describe() const;

private:
  struct Network;

  void create(const proto::StartParams& params, LeaseCallback done);
  void rules_applied(const std::string& name, const Network* expected, core::Result<std::string> applied);
  void fail(const std::string& name, const core::Error& error);
  core::Result<NetworkLease> allocate(Network& network, const proto::StartParams& params);
  void lease_to(Network& network, const proto::StartParams& params, LeaseCallback done);
  core::Result<platform::Ipv4Subnet> choose_subnet(const proto::StartParams& params) const;
  void teardown(std::unique_ptr<Network> network);
  void set_ip_forward(bool shared_network_added);
  // nft jobs, one at a time in order (see above).
  void run_nft(std::string script, std::function<void(core::Result<std::string>)> done);
  void next_nft_job();
  void maybe_shutdown_done();

  uv_loop_t* m_loop;
  const DaemonConfig& m_config;
  std::map<std::string, std::unique_ptr<Network>> m_networks;
  uv::Retirement<uv::ChildSupervisor> m_retiring;  // dnsmasq children being stopped
  std::function<void()> m_shutdown_done;
  struct NftJob {
    std::string script;
    std::function<void(core::Result<std::string>)> done;
  };
  std::deque<NftJob> m_nft_jobs;
  bool m_nft_running = false;
  int m_shared_networks = 0;
  std::optional<std::string> m_ip_forward_before;  // what we found before turning it on
  // Callbacks of nft children and timers check this before touching the manager, which may
  // be gone by the time they run (the daemon's last-resort teardown).
  std::shared_ptr<NetworkManager*> m_alive = std::make_shared<NetworkManager*>(this);
};

}  // namespace squib::service
