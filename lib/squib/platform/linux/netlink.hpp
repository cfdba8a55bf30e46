#pragma once

// Netlink: the few rtnetlink (RFC 3549, rtnetlink(7)) operations the Linux modes need —
// create/delete links (bridges, VXLAN devices), set up/MTU/master/MAC, add an IPv4 address,
// flag a bridge port isolated, add FDB entries, ask which interface a route leaves by, list
// links with their counters — as synchronous request/ack calls on one NETLINK_ROUTE
// socket; and, on a NETLINK_NETFILTER socket, the one nf_tables dump the daemon reads
// in-process (named counters).
//
// Why libmnl (Debian libmnl-dev) rather than libnl-route-3 or `ip`: it is the tiny helper the
// netfilter tools themselves are built on (nft, conntrack), it only builds and walks
// messages (no object cache, no threads), and it is packaged everywhere we run. Shelling out
// to `ip` would fork per operation and parse text; libnl would add a large object model for
// six messages.
//
// Contract: every call is one request and its ack (or dump), bounded by the kernel's answer
// on a local socket — control-path only, never called per frame. Errors come back as
// core::Error with the kernel's errno and the operation named. Not thread-safe; the daemon
// uses one instance from the loop thread.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <linux/netlink.h>

#include <squib/core/ip_address.hpp>
#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/result.hpp>

struct mnl_socket;
struct nlmsghdr;

// Namespace squib::platform (not ::linux: `linux` is a predefined macro under GNU dialects);
// the folder, chosen in CMake, says which OS the implementation is for.
namespace squib::platform {

// A link's counters (IFLA_STATS64 = struct rtnl_link_stats64, linux/if_link.h). For a TAP,
// rx is what its opener (the VMM) wrote, tx what the kernel queued for it, tx_dropped what
// it did not read in time.
struct LinkStats {
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_dropped = 0;
  std::uint64_t rx_errors = 0;
  std::uint64_t tx_errors = 0;
  std::uint64_t rx_dropped = 0;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "bridge", "tun", "veth", … or empty
  int master = 0;    // IFLA_MASTER index, 0 when not enslaved
  std::uint32_t mtu = 0;
  bool up = false;
  bool carrier = false;  // IFF_LOWER_UP: for a TAP, its opener (a VMM) has it open
  LinkStats stats;
};

// Changes applied by set_bridge_port (IFLA_BRPORT_*, in an AF_BRIDGE RTM_SETLINK).
struct BridgePortChange {
  // Isolated ports (Linux 4.18) cannot send to each other, only to non-isolated ports and
  // the bridge itself (the gateway).
  std::optional<bool> isolated;
  // Learning off + unknown-unicast flooding off (libvirt's macTableManager="libvirt"): the
  // bridge never learns a VM's MAC from its frames (its static FDB entry says where it is)
  // and never floods unicast for an unknown or aged-out MAC to VM ports.
  std::optional<bool> learning;
  std::optional<bool> unicast_flood;
};

// A named nftables counter object and the table it belongs to.
struct NftCounter {
  std::string table;
  std::string name;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

// An IPv4 prefix the host uses: an address on an interface, or a route.
struct HostPrefix {
  std::uint32_t network = 0;  // host byte order; the address itself for an interface address
  unsigned prefix = 0;
  int ifindex = 0;  // the interface it is on (routes: RTA_OIF, 0 when none)
  bool is_route = false;
};

// An IPv6 route of the host (RTM_GETROUTE dump, AF_INET6): its destination prefix, the
// interface and the routing protocol that installed it (RTPROT_RA = 9: learned from a router
// advertisement, the case that matters once forwarding is turned on).
struct HostRoute6 {
  core::Ipv6Address network{};
  unsigned prefix = 0;
  int ifindex = 0;  // RTA_OIF, 0 when none
  unsigned protocol = 0;
  bool local = false;  // RTN_LOCAL: an address of this host (a /128)
};

// Changes applied by set_link; unset fields are left alone.
struct LinkChange {
  std::optional<bool> up;
  std::optional<std::uint32_t> mtu;
  std::optional<int> master;                           // ifindex of the bridge, 0 to release
  std::optional<std::array<std::uint8_t, 6>> address;  // the link's MAC (IFLA_ADDRESS)
};

// What create_vxlan asks of the kernel (IFLA_VXLAN_*, linux/if_link.h; ip-link(8) `type
// vxlan`). `local` and `group` are of one family.
struct VxlanLinkParams {
  std::uint32_t vni = 0;                 // IFLA_VXLAN_ID
  core::IpAddress local;                 // IFLA_VXLAN_LOCAL / LOCAL6: the tunnel's source
  std::optional<core::IpAddress> group;  // IFLA_VXLAN_GROUP / GROUP6: multicast group
  std::uint16_t port = 4789;             // IFLA_VXLAN_PORT (the UDP destination port)
  int link = 0;                          // IFLA_VXLAN_LINK: the underlay ifindex, 0 for none
  bool learning = true;                  // IFLA_VXLAN_LEARNING: learn remote VTEPs from what arrives
};

class Netlink {
 public:
  // `protocol`: NETLINK_ROUTE (every method but list_nft_counters) or NETLINK_NETFILTER.
  static core::Result<Netlink> open(int protocol = NETLINK_ROUTE);
  ~Netlink();
  Netlink(Netlink&& other) noexcept;
  Netlink& operator=(Netlink&& other) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  core::Result<void> create_bridge(const std::string& name);
  // A VXLAN device `name` (RTM_NEWLINK, kind "vxlan"), down and unenslaved.
  core::Result<void> create_vxlan(const std::string& name, const VxlanLinkParams& params);
  // Adds `remote` to the VXLAN device `name`'s default destinations: frames for no known MAC
  // (broadcast, multicast, unknown unicast) are sent to every such remote (head-end
  // replication), as `bridge fdb append 00:00:00:00:00:00 dev NAME dst REMOTE` (bridge(8)).
  core::Result<void> append_fdb_flood_entry(const std::string& name, const core::IpAddress& remote);
  // The interface the kernel would send a packet to `destination` by (RTM_GETROUTE for one
  // address, as `ip route get`): its RTA_OIF index.
  core::Result<int> route_oif(const core::IpAddress& destination);
  core::Result<void> delete_link(const std::string& name);
  core::Result<void> set_link(const std::string& name, const LinkChange& change);
  // Adds ADDRESS/PREFIX (IPv4, network byte order) with the subnet's broadcast address.
  core::Result<void> add_ipv4_address(const std::string& name, std::uint32_t address_be, unsigned prefix);
  // Adds ADDRESS/PREFIX (IPv6) with IFA_F_NODAD: the address is usable at once, without the
  // ~1 s of duplicate address detection (it is the gateway of a network only we address).
  core::Result<void> add_ipv6_address(const std::string& name, const core::Ipv6Address& address, unsigned prefix);
  // Bridge port flags of `name` (an enslaved link); unset fields are left alone.
  core::Result<void> set_bridge_port(const std::string& name, const BridgePortChange& change);
  // A static FDB entry on the port's bridge: frames for `mac` go to port `name` only, never
  // aged out or moved by learning (`bridge fdb replace MAC dev NAME master static`).
  core::Result<void> add_static_fdb_entry(const std::string& name, const std::array<std::uint8_t, 6>& mac);
  core::Result<std::vector<LinkInfo>> list_links();
  // Every IPv4 address of every interface (RTM_GETADDR dump).
  core::Result<std::vector<HostPrefix>> list_ipv4_addresses();
  // Every unicast IPv4 route with a destination prefix (not the default route) in every
  // routing table: main, and the tables VPNs such as WireGuard use (RTM_GETROUTE dump).
  core::Result<std::vector<HostPrefix>> list_ipv4_routes();
  // Every unicast and local IPv6 route in every routing table, the default routes included
  // (RTM_GETROUTE dump): local routes are the host's own addresses, the others what it routes.
  core::Result<std::vector<HostRoute6>> list_ipv6_routes();
  core::Result<std::optional<LinkInfo>> find_link(const std::string& name);
  // Every named counter of one nftables family (NFPROTO_*), with its table: what `nft list
  // counters` prints, in one dump (NFT_MSG_GETOBJ, NFT_OBJECT_COUNTER) instead of a child.
  // A dump reads the objects under RCU: it never waits for another process's commit.
  // NETLINK_NETFILTER sockets only.
  core::Result<std::vector<NftCounter>> list_nft_counters(std::uint8_t family);

 private:
  explicit Netlink(mnl_socket* socket);
  // Sends the message in m_buffer and waits for its ack (or, for dumps, calls `on_message`
  // for every part until NLMSG_DONE).
  core::Result<void> transact(const std::string& what, const std::function<void(const nlmsghdr*)>& on_message = {});

  mnl_socket* m_socket = nullptr;
  unsigned m_portid = 0;
  unsigned m_seq = 0;
  std::vector<char> m_buffer;
};

}  // namespace squib::platform
