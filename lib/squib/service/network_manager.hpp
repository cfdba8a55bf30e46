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
//   does; it is not reset, other software may rely on it); host-mode networks stay closed by
//   their own nft table.
// - cleanup_stale(): before restoring state, the daemon removes what a dead daemon left in
//   this network namespace: `sq-*` and `sqbr-*` links, `inet squib_*` nft tables, and any
//   dnsmasq whose pid file is in the run dir. dnsmasq needs this: it drops privileges, which
//   clears the PR_SET_PDEATHSIG set by squib-child-exec, so it can outlive a kill -9.
//   The names are ours by convention: run one squib-netd per network namespace.
// Synchronous netlink/nft calls run on the loop thread on the control path only (a few ms).

#include <cstdint>
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

namespace squib::service {

// The default subnet of socket_vmnet and lima (192.168.105.0/24).
inline constexpr std::string_view k_default_subnet = "192.168.105.0/24";

struct NetworkLease {
  std::string bridge;        // the bridge the attachment's TAP joins
  std::string address;       // the guest's static DHCP address
  nlohmann::json network;    // {name, subnet, gateway, dhcp_range, dns, bridge}
};

// `sqbr-` + 10 hex digits of FNV-1a-64(network name); the table is `squib_` + the same.
std::string network_hash(std::string_view network_name);

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
  void cleanup_stale();

  // Joins (creating if needed) the network `params.network` for a host/shared attachment.
  core::Result<NetworkLease> acquire(const proto::StartParams& params);
  // The attachment `params.name` left its network; the last one out tears it down.
  void release(const proto::StartParams& params);
  // Tears every network down; `done` runs once every dnsmasq is reaped.
  void shutdown(std::function<void()> done);

  // For `status`: [{name, mode, bridge, subnet, gateway, attachments, dnsmasq_pid}].
  [[nodiscard]] nlohmann::json describe() const;

private:
  struct Network;

  core::Result<std::unique_ptr<Network>> create(const proto::StartParams& params);
  core::Result<platform::Ipv4Subnet> choose_subnet(const proto::StartParams& params) const;
  core::Result<void> write_hosts(const Network& network) const;
  void teardown(std::unique_ptr<Network> network);
  void sweep();

  uv_loop_t* m_loop;
  const DaemonConfig& m_config;
  std::map<std::string, std::unique_ptr<Network>> m_networks;
  std::vector<std::unique_ptr<uv::ChildSupervisor>> m_stopping;   // dnsmasq being stopped
  std::vector<std::unique_ptr<uv::ChildSupervisor>> m_graveyard;  // reaped, freed next turn
  uv::Handle<uv_timer_t> m_sweep;
  std::function<void()> m_shutdown_done;
};

}  // namespace squib::service
