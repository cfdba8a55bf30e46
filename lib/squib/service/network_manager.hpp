#pragma once

// NetworkManager (Linux): the daemon-owned networks behind `host` and `shared` attachments,
// built the way libvirt's default network is built.
//
// Theory of operation:
// - A network is created by the first attachment that names it and lives while any
//   attachment uses it (release() of the last one tears it down). It consists of (names:
//   platform/linux/network_names.hpp, scoped by the run dir)
//     bridge   sqbr-<h>, with the gateway address (.1 of the subnet) and up (rtnetlink);
//     nft      table inet squib_<h>: forward/masquerade rules (platform/linux/nft.hpp),
//                          created and removed atomically with `nft -f -`;
//     dnsmasq  one supervised child serving DHCP and DNS on the bridge only
//                          (platform/linux/dnsmasq.hpp);
//     files    <run-dir>/net-<h>.hosts.d/ (static leases, one file per attachment),
//                          .names.d/ (DNS names, one file per attachment), .leases, .pid.
// - DNS names: every attachment whose name is a DNS label is <name>.<domain> in its
//   network's DNS (A: its lease; AAAA: its address6 when the network has IPv6). `domain` is
//   taken when the network is created (default proto::k_default_domain); a different one for
//   an existing network is EINVAL "domain: ..." like subnet. Shared mode forwards other names
//   to the host's resolvers, host mode answers only its own.
// - Static leases: LeaseAllocator (lease_allocator.hpp) gives each attachment the address
//   its `address` parameter names (persisted by the registry, so a restart restores
//   exactly it), else one derived from its MAC; Dnsmasq writes it to the hosts directory.
// - Subnet: `subnet` applies when the network is created (default: the daemon default,
//   192.168.105.0/24, for the first network that does not name one; later networks without
//   one take the next free /24 above it). A different subnet for an existing network, a
//   subnet overlapping another network's or a host route, or a mode different from the
//   network's is an EINVAL Error whose message starts with the field name (the factory
//   maps it to -32602).
// - IPv6 (issue 13): every network also gets a /64, `subnet6` when the network is created,
//   else the stable ULA of its name (core/ipv6_prefix.hpp; when that is taken, e.g. by a
//   second daemon's network of the same name, the next subnet IDs of it, as the IPv4
//   default takes the next free /24); the same rules as `subnet` (a
//   different one for an existing network, or one overlapping another network's or a host
//   route or address, is an EINVAL Error starting "subnet6:"). The bridge holds ::1 of it
//   (no DAD); dnsmasq advertises it (SLAAC) and answers stateless DHCPv6; `start` reports the
//   guest's EUI-64 address. Shared mode masquerades it out (NAT66) and turns
//   net.ipv6.conf.all.forwarding on, unless that would make the host drop its RA-learned
//   default route (platform/linux/ra_default_routes.hpp): then IPv6 stays inside the network
//   and the log says why. A host without IPv6 (/proc/sys/net/ipv6 absent) gets IPv4-only
//   networks.
// - Host firewalls (platform/linux/host_firewall.hpp): a shared network is handed to
//   HostFirewall once its table is in place; it becomes ready only after the pass that follows
//   has put our tagged accept rules into every other table's forward chain that would drop its
//   traffic (Docker's DOCKER-USER, ufw's, firewalld's) — or, with --host-firewall=leave, fails
//   naming such a chain. HostFirewall keeps the rules there while the network lives (nftables
//   events) and removes them with it; shutdown waits for that too.
// - shared mode turns net.ipv4.ip_forward on while a shared network exists
//   (platform/linux/ip_forwarding.hpp); host-mode networks stay closed by their own table.
// - Asynchronous, never waiting on the loop: the bridge is made with rtnetlink (a kernel
//   round trip), the nft table by an `nft` child collected on the loop, dnsmasq is spawned.
//   acquire() answers through its callback once the network is ready (or failed); attachments
//   that ask for a network while it is being created wait for the same outcome. Every nft
//   job of the manager runs through one queue (platform/linux/nft_queue.hpp), in order, so
//   a table's delete can never overtake its create.
// - Declared networks (issue 15, proto/network_messages.hpp): create_network() makes a
//   network from a NetworkSpec at once and keeps it with zero attachments until
//   delete_network(), which tears it down as the last release of an implicit one does (plus
//   its uplink). A `start` naming it takes its subnet/subnet6/domain/mode (differing ones are
//   EINVAL as above); `isolation` on it isolates every attachment; `dhcp.range` is the slice
//   dnsmasq serves and LeaseAllocator derives addresses in (an `address` outside it is
//   EINVAL: ranges are per host, which keeps hosts' leases apart), `dhcp: false` serves none
//   (dnsmasq answers DNS only; every attachment names its `address`); `mtu` is the bridge's,
//   every TAP's (a larger asked MTU is lowered to it) and DHCP option 26's. An `uplink` is
//   made after the bridge and before dnsmasq (platform/linux/vxlan_uplink.hpp: its MTU
//   becomes the network's), its bridge-family table through the nft queue with the network's.
//   A network made implicitly becomes declared by a create_network() whose spec matches its
//   live settings.
// - cleanup_stale(): before restoring state, the daemon removes what a dead daemon of the
//   same run dir left (platform/linux/stale_objects.hpp): the TAPs, bridges and tables
//   named after the attachments and networks its state.json records, and any dnsmasq whose
//   pid file is in the run dir. It runs before the loop serves anyone, so its calls are
//   synchronous; everything after is not (see above).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <uv.h>

#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/result.hpp>
#include <squib/platform/linux/dnsmasq.hpp>
#include <squib/platform/linux/host_firewall.hpp>
#include <squib/platform/linux/ip_forwarding.hpp>
#include <squib/platform/linux/nft_queue.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/network_messages.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/uv/retirement.hpp>

namespace squib::service {

// The default subnet of socket_vmnet and lima (192.168.105.0/24).
inline constexpr std::string_view k_default_subnet = "192.168.105.0/24";

struct NetworkLease {
  std::string bridge;          // the bridge the attachment's TAP joins
  std::uint32_t address = 0;   // the guest's static DHCP address, host byte order
  proto::NetworkInfo network;  // what `start` reports
  std::uint32_t mtu = 1500;    // the network's: the TAP's and the guest's at most
  bool isolation = false;      // the network isolates every attachment
};
using LeaseCallback = std::function<void(core::Result<NetworkLease>)>;

class NetworkManager {
 public:
  NetworkManager(uv_loop_t* loop, const DaemonConfig& config);
  ~NetworkManager();
  NetworkManager(const NetworkManager&) = delete;
  NetworkManager& operator=(const NetworkManager&) = delete;

  // Removes what a dead daemon left behind (see above). Call once, before restoring state.
  // `recorded`: the attachments of this run dir's state.json.
  void cleanup_stale(const std::vector<proto::StartParams>& recorded);
  // Likewise for the networks state.json and the config file declare (by name): bridge,
  // VXLAN device, both tables.
  void cleanup_stale_networks(const std::vector<std::string>& recorded);

  // Declared networks (see above). `done` once ready or failed: EINVAL "<field>: …", EEXIST
  // "<field>" (a declared network of that name with another spec), anything else from the
  // kernel or a child.
  using NetworkDone = std::function<void(core::Result<proto::NetworkDescription>)>;
  void create_network(const proto::NetworkSpec& spec, proto::Origin origin, NetworkDone done);
  // ENOENT unknown, EBUSY while attachments hold leases on it; `done` once torn down (the
  // dnsmasq child may still be stopping: its pid file goes when it is reaped).
  void delete_network(const std::string& name, std::function<void(core::Result<void>)> done);
  [[nodiscard]] std::vector<proto::NetworkDescription> list_networks() const;

  // Joins (creating if needed) the network `params.network` for a host/shared attachment.
  // `done` runs once the network is ready or has failed — at once when it already exists.
  void acquire(const proto::StartParams& params, LeaseCallback done);
  // The attachment `params.name` left its network; the last one out tears it down.
  void release(const proto::StartParams& params);
  // Tears every network down; `done` runs once every dnsmasq is reaped.
  void shutdown(std::function<void()> done);

  // For `status`: each network's addresses, mode, attachment count and dnsmasq pid.
  [[nodiscard]] std::vector<proto::NetworkStatus> describe() const;
  // Told every new or changed DHCP lease of every network's dnsmasq (its lease file).
  using LeaseObserver = std::function<void(const std::string& network, const std::string& mac,
                                           const std::string& address, const std::string& hostname)>;
  void set_lease_observer(LeaseObserver observer) { m_lease_observer = std::move(observer); }

 private:
  struct Network;

  // Makes network params.network; `done` (a start, may be empty) gets its lease once ready,
  // `created` (a network.create, may be empty) the outcome. `spec`: a declared network's.
  void create(const proto::StartParams& params, const proto::NetworkSpec* spec, proto::Origin origin,
              LeaseCallback done, std::function<void(core::Result<void>)> created = nullptr);
  void rules_applied(const std::string& name, const Network* expected, core::Result<std::string> applied);
  void firewall_checked(const std::string& name, const Network* expected, core::Result<void> synced);
  void start_dnsmasq(Network& network);
  void fail(const std::string& name, const core::Error& error);
  core::Result<NetworkLease> allocate(Network& network, const proto::StartParams& params);
  void publish_name(Network& network, const std::string& name, const NetworkLease& lease);
  void lease_to(Network& network, const proto::StartParams& params, LeaseCallback done);
  core::Result<core::Ipv4Subnet> choose_subnet(const proto::StartParams& params) const;
  // nullopt: this host has no IPv6.
  core::Result<std::optional<core::Ipv6Prefix>> choose_subnet6(const proto::StartParams& params) const;
  // Shared mode: may this network masquerade IPv6 out (see above)? Logs when not.
  bool nat66_allowed(const std::string& network_name);
  void teardown(std::unique_ptr<Network> network);
  // Every nft job of the manager goes through m_nft (in order, see above).
  void run_nft(std::string script, platform::NftQueue::Done done);
  void maybe_shutdown_done();
  void watch_leases(Network& network);

  uv_loop_t* m_loop;
  const DaemonConfig& m_config;
  std::map<std::string, std::unique_ptr<Network>> m_networks;
  uv::Retirement<platform::Dnsmasq> m_retiring;  // dnsmasq children being stopped
  std::function<void()> m_shutdown_done;
  platform::NftQueue m_nft;
  platform::HostFirewall m_firewall;       // our rules in other tables' forward chains
  platform::IpForwarding m_ip_forwarding;  // on while any shared network exists
  platform::IpForwarding m_ip6_forwarding{"/proc/sys/net/ipv6/conf/all/forwarding",
                                          "net.ipv6.conf.all.forwarding"};  // while any NAT66 network exists
  LeaseObserver m_lease_observer;
};

}  // namespace squib::service
