#include <squib/platform/linux/vxlan_uplink.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

#include <squib/core/assert.hpp>
#include <squib/core/fnv1a.hpp>

namespace squib::platform {

using core::Error;
using core::Result;

namespace {

// The interface the tunnel leaves by: its name, index and MTU.
struct Underlay {
  std::string name;
  int index = 0;
  std::uint32_t mtu = 0;
};

Result<Underlay> link_by_index(Netlink& netlink, int index) {
  auto links = netlink.list_links();
  if (!links) return links.error();
  for (const auto& link : links.value()) {
    if (link.index == index) return Underlay{link.name, link.index, link.mtu};
  }
  return Error{ENODEV, "interface index " + std::to_string(index) + " vanished"};
}

// spec.dev when given; else the interface the route to the first remote (or the group)
// leaves by, as the kernel would pick it for the tunnel's packets.
Result<Underlay> resolve_underlay(Netlink& netlink, const proto::VxlanUplink& spec,
                                  const core::IpAddress& destination) {
  if (spec.dev) {
    auto link = netlink.find_link(*spec.dev);
    if (!link) return link.error();
    if (!link.value()) return Error{ENODEV, "dev " + *spec.dev + ": no such interface"};
    return Underlay{link.value()->name, link.value()->index, link.value()->mtu};
  }
  auto oif = netlink.route_oif(destination);
  if (!oif) {
    // Name the address the operator gave, not netlink's step.
    const std::string& text = spec.group ? *spec.group : spec.remotes.front();
    return Error{oif.error().code, "route to " + text + ": " + std::strerror(oif.error().code)};
  }
  return link_by_index(netlink, oif.value());
}

struct ParsedSpec {
  core::IpAddress local;
  std::vector<core::IpAddress> remotes;
  std::optional<core::IpAddress> group;
};

// The spec as netlink carries it. parse_network_spec has already checked every address
// (literal, one family, unicast remotes, a multicast group, exactly one of remotes and group),
// so a failure here is a caller that skipped it: an internal error, not a user's.
Result<ParsedSpec> parse_spec(const proto::VxlanUplink& spec) {
  const auto unchecked = [](const std::string& text) {
    return Error{EINVAL, "uplink: " + text + " was not validated as an IP address (parse_network_spec)"};
  };
  ParsedSpec out;
  const auto local = core::parse_ip_address(spec.local);
  if (!local) return unchecked(spec.local);
  out.local = *local;
  for (const auto& remote : spec.remotes) {
    const auto address = core::parse_ip_address(remote);
    if (!address) return unchecked(remote);
    out.remotes.push_back(*address);
  }
  if (spec.group) {
    out.group = core::parse_ip_address(*spec.group);
    if (!out.group) return unchecked(*spec.group);
  }
  SQUIB_ASSERT(out.remotes.empty() == out.group.has_value());
  return out;
}

// Everything after the device exists; the caller deletes the device when this fails.
Result<void> configure(Netlink& netlink, const std::string& device, const std::string& bridge, const ParsedSpec& parsed,
                       const VxlanUplinkState& state, const std::array<std::uint8_t, 6>& gateway_mac) {
  auto bridge_link = netlink.find_link(bridge);
  if (!bridge_link) return bridge_link.error();
  if (!bridge_link.value()) return Error{ENODEV, "bridge " + bridge + ": no such interface"};
  LinkChange port;
  port.mtu = state.network_mtu;
  port.master = bridge_link.value()->index;
  if (auto done = netlink.set_link(device, port); !done) return done;
  for (const auto& remote : parsed.remotes) {
    if (auto done = netlink.append_fdb_flood_entry(device, remote); !done) return done;
  }
  // The bridge's MTU after the port's: enslaving lowers a bridge whose MTU nobody set to its
  // smallest port's; set explicitly it stays (br_mtu_auto_adjust, Linux 4.17).
  LinkChange bridge_change;
  bridge_change.mtu = state.network_mtu;
  bridge_change.address = gateway_mac;
  if (auto done = netlink.set_link(bridge, bridge_change); !done) return done;
  LinkChange up;
  up.up = true;
  return netlink.set_link(device, up);
}

}  // namespace

Result<VxlanUplinkState> create_vxlan_uplink(Netlink& netlink, const std::string& device, const std::string& bridge,
                                             const proto::VxlanUplink& spec, std::optional<std::uint32_t> asked_mtu,
                                             std::uint32_t gateway) {
  auto parsed = parse_spec(spec);
  if (!parsed) return parsed.error();
  const core::IpAddress& destination = parsed.value().group ? *parsed.value().group : parsed.value().remotes.front();
  auto underlay = resolve_underlay(netlink, spec, destination);
  if (!underlay) return Error{underlay.error().code, "uplink: " + underlay.error().message};

  const std::uint32_t overhead =
      parsed.value().local.ipv6 ? proto::k_vxlan_overhead_ipv6 : proto::k_vxlan_overhead_ipv4;
  const std::uint32_t carried = underlay.value().mtu;
  // 68: the smallest IPv4 MTU (RFC 791), below which the network would carry nothing useful.
  if (carried < overhead + 68) {
    return Error{EINVAL, "uplink: " + underlay.value().name + " carries " + std::to_string(carried) +
                             ", too little for VXLAN's " + std::to_string(overhead)};
  }
  const std::uint32_t most = carried - overhead;
  if (asked_mtu && *asked_mtu > most) {
    return Error{EINVAL, "mtu: " + std::to_string(*asked_mtu) + " does not fit the uplink: " + underlay.value().name +
                             " carries " + std::to_string(carried) + ", VXLAN needs " + std::to_string(overhead) +
                             " of it, so at most " + std::to_string(most)};
  }
  VxlanUplinkState state;
  state.device = device;
  state.underlay_mtu = carried;
  state.network_mtu = std::min(asked_mtu.value_or(1500), most);

  VxlanLinkParams params;
  params.vni = spec.vni;
  params.local = parsed.value().local;
  params.group = parsed.value().group;
  params.port = spec.port;
  params.link = underlay.value().index;
  params.learning = true;
  if (auto created = netlink.create_vxlan(device, params); !created) {
    // Nothing of ours to remove: EEXIST means the device is someone else's (or a previous
    // daemon's, which stale cleanup removes), and it is left alone.
    return Error{created.error().code, "uplink: " + created.error().message};
  }
  auto configured = configure(netlink, device, bridge, parsed.value(), state, anycast_gateway_mac(spec.vni, gateway));
  if (!configured) {
    (void)netlink.delete_link(device);  // best effort: the step's error is what the caller needs
    return Error{configured.error().code, "uplink: " + configured.error().message};
  }
  return state;
}

std::array<std::uint8_t, 6> anycast_gateway_mac(std::uint32_t vni, std::uint32_t gateway) {
  // FNV-1a over the 8 bytes vni then gateway, both big-endian: the same on every host and
  // every build. 02: locally administered (bit 1), unicast (bit 0 clear), as our VMs' MACs.
  std::array<char, 8> input{};
  for (int i = 0; i < 4; ++i) {
    input[static_cast<std::size_t>(i)] = static_cast<char>((vni >> (24 - 8 * i)) & 0xff);
    input[static_cast<std::size_t>(4 + i)] = static_cast<char>((gateway >> (24 - 8 * i)) & 0xff);
  }
  const std::uint64_t hash = core::fnv1a64(std::string_view(input.data(), input.size()));
  std::array<std::uint8_t, 6> mac{0x02};
  for (std::size_t i = 1; i < mac.size(); ++i) mac[i] = static_cast<std::uint8_t>(hash >> (8 * (i - 1)));
  return mac;
}

std::string uplink_policy_script(const std::string& table, const std::string& device,
                                 const std::optional<std::array<std::uint8_t, 6>>& gateway_mac) {
  // Replace semantics as tap_policy's scripts: `add` then `flush` in the same transaction
  // (nft -f applies a script atomically), so re-applying keeps the named counters.
  //
  // Hooks prerouting (iifname) and postrouting (oifname), not only forward: a remote's
  // DISCOVER or RS for this host's dnsmasq on the bridge itself is delivered locally (hook
  // input) and dnsmasq's own offers and RAs leave by local output, never by forward; every
  // bridged frame passes prerouting on its way in and postrouting on each port it leaves by.
  const std::string name = "bridge " + table;
  const std::string quoted = "\"" + device + "\"";
  std::ostringstream out;
  out << "add table " << name << "\n"
      << "flush table " << name << "\n"
      << "table " << name << " {\n"
      << "  counter " << k_uplink_counter_dhcp << " { }\n"
      << "  counter " << k_uplink_counter_dhcp6 << " { }\n"
      << "  counter " << k_uplink_counter_router_discovery << " { }\n"
      << "  counter " << k_uplink_counter_gateway << " { }\n";
  char mac[18] = "";
  if (gateway_mac) {
    const auto& m = *gateway_mac;
    std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  }
  const auto chain = [&](const char* chain_name, const char* hook, const char* match) {
    out << "  chain " << chain_name << " {\n"
        << "    type filter hook " << hook << " priority -200; policy accept;\n"
        << "    " << match << " " << quoted << " ether type ip udp dport { 67, 68 } counter name \""
        << k_uplink_counter_dhcp << "\" drop\n"
        << "    " << match << " " << quoted << " ether type ip6 udp dport { 546, 547 } counter name \""
        << k_uplink_counter_dhcp6 << "\" drop\n"
        << "    " << match << " " << quoted
        << " ether type ip6 icmpv6 type { nd-router-solicit, nd-router-advert } counter name \""
        << k_uplink_counter_router_discovery << "\" drop\n";
    if (gateway_mac) {
      out << "    " << match << " " << quoted << " ether saddr " << mac << " counter name \""
          << k_uplink_counter_gateway << "\" drop\n";
    }
    out << "  }\n";
  };
  chain("from_uplink", "prerouting", "iifname");
  chain("to_uplink", "postrouting", "oifname");
  out << "}\n";
  return out.str();
}

std::string uplink_policy_delete_script(const std::string& table) {
  // Declare-then-delete: nft 1.0.6 has no `destroy` (as tap_policy_delete_script).
  return "add table bridge " + table + "\ndelete table bridge " + table + "\n";
}

}  // namespace squib::platform
