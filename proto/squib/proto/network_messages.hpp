#pragma once

// The network methods' parameters and results (proto/control-protocol.md, "Networks"):
// networks as objects of their own, created before (and living beyond) the attachments that
// use them, optionally spanning hosts over a kernel VXLAN uplink (issue 15).
//
//   network.create NetworkSpec                → NetworkDescription      (root only)
//   network.delete {name, force?}             → {name}                  (root only)
//   network.list   {}                         → [NetworkDescription, …] (anyone; a member
//                                               sees only its own attachments' names)
//
// A NetworkSpec is also what state.json records for each created network and what the
// daemon's config file declares (`networks`: [NetworkSpec, …]). Parsers throw ParamError
// naming the offending field (dotted for nested ones: "uplink.vxlan.vni", "dhcp.range").

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <squib/core/ipv4_subnet.hpp>
#include <squib/proto/messages.hpp>

namespace squib::proto {

// VXLAN's IANA port (RFC 7348 §5) and its largest identifier (24 bits).
inline constexpr std::uint16_t k_vxlan_port = 4789;
inline constexpr std::uint32_t k_max_vni = (1U << 24) - 1;
// What VXLAN adds to each frame on the underlay: outer IPv4 20 + UDP 8 + VXLAN 8 + inner
// Ethernet 14 = 50 bytes (70 over IPv6); a network's MTU is its underlay's minus this.
inline constexpr std::uint32_t k_vxlan_overhead_ipv4 = 50;
inline constexpr std::uint32_t k_vxlan_overhead_ipv6 = 70;

// `uplink.vxlan`: the kernel VXLAN device that joins this host's bridge of the network to
// the same network on other hosts. Exactly one of `remotes` (unicast head-end replication:
// one all-zero-MAC FDB entry per remote) and `group` (a multicast group; needs `dev`).
// `local` and every remote/group are literal IP addresses of one family (IPv4 or IPv6).
struct VxlanUplink {
  std::uint32_t vni = 0;              // 1..k_max_vni
  std::string local;                  // this host's underlay address (the tunnel's source)
  std::vector<std::string> remotes;   // the other hosts' underlay addresses
  std::optional<std::string> group;   // multicast group instead of remotes
  std::uint16_t port = k_vxlan_port;  // UDP destination port
  std::optional<std::string> dev;     // underlay interface (multicast: required)
  bool operator==(const VxlanUplink&) const = default;
};

struct Uplink {
  std::optional<VxlanUplink> vxlan;  // the only kind today; an uplink object without it is an error
  bool operator==(const Uplink&) const = default;
};

// `dhcp`: whether and where this host's dnsmasq hands out IPv4 leases. `range` "A-B" (both
// inside the subnet, A ≤ B, neither the gateway): a slice, so that hosts sharing a network
// over an uplink serve disjoint ones; nullopt: the whole subnet but the gateway. `enabled`
// false (`"dhcp": false` or `{"range": false}`): no DHCP here (DNS still answers); each
// attachment must then name its `address`.
struct DhcpSettings {
  bool enabled = true;
  std::optional<std::string> range;
  bool operator==(const DhcpSettings&) const = default;
};

// network.create's parameters, state.json's and the config file's network entries.
struct NetworkSpec {
  std::string name;                    // as an attachment's network name (core/names.hpp)
  Mode mode = Mode::host;              // host or shared only
  std::optional<std::string> subnet;   // as StartParams.subnet
  std::optional<std::string> subnet6;  // as StartParams.subnet6
  std::optional<std::string> domain;   // as StartParams.domain
  bool isolation = false;              // every attachment on it is isolated (as StartParams.isolation)
  DhcpSettings dhcp;
  std::optional<std::uint32_t> mtu;  // k_min_mtu..k_max_mtu; nullopt: 1500, or less if the uplink needs it
  std::optional<Uplink> uplink;
  bool operator==(const NetworkSpec&) const = default;
};
NetworkSpec parse_network_spec(const json& params);
json to_json(const NetworkSpec& spec);

struct NetworkDeleteParams {
  std::string name;
  bool force = false;  // stop the network's attachments first instead of refusing
};
NetworkDeleteParams parse_network_delete_params(const json& params);
json to_json(const NetworkDeleteParams& params);

// A link's counters as network.list reports them (the bridge's, the uplink device's).
struct LinkCounters {
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t rx_dropped = 0;
  std::uint64_t tx_dropped = 0;
  bool operator==(const LinkCounters&) const = default;
};

// The uplink as it is: the spec plus the device the daemon made and its counters.
struct UplinkStatus {
  std::string kind = "vxlan";
  std::string device;  // e.g. sqvx-<h>
  VxlanUplink vxlan;
  std::uint32_t underlay_mtu = 0;  // the MTU of the interface the tunnel leaves by
  LinkCounters counters;
};

// Where a network came from: network.create, the daemon's config file, or a `start` that
// named a network nobody had created (today's behaviour, kept).
enum class Origin { api, config, implicit };
const char* to_string(Origin origin);

// One entry of network.list (and network.create's result).
struct NetworkDescription {
  NetworkInfo
      network;  // name, bridge, subnet, gateway, dhcp_range (null: no DHCP here), dns, subnet6, gateway6, domain
  Mode mode = Mode::host;
  Origin origin = Origin::implicit;
  std::string state;  // "creating", "ready", "failed"
  std::uint32_t mtu = 1500;
  bool isolation = false;
  std::optional<UplinkStatus> uplink;
  std::vector<std::string> attachments;  // names, sorted; a member sees only its own
  std::uint64_t attachment_count = 0;    // all of them, whoever asks
  LinkCounters counters;                 // the bridge's
};
json to_json(const NetworkDescription& description);
void from_json(const json& value, NetworkDescription& out);
// network.list's result.
json to_json(const std::vector<NetworkDescription>& list);
void from_json(const json& value, std::vector<NetworkDescription>& out);

// Why "first-last" (host byte order) cannot be a DHCP range of `subnet`: an address outside
// it (or its network/broadcast address), or a range holding the gateway; nullopt: it can.
std::optional<std::string> dhcp_range_problem(const core::Ipv4Subnet& subnet, std::uint32_t first, std::uint32_t last);

}  // namespace squib::proto
