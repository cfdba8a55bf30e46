#pragma once

// VxlanUplink (Linux): the kernel VXLAN device that carries a host/shared network's bridge to
// the same network on other hosts (issue 15; RFC 7348). squib-netd drives the kernel's
// engine, it does not tunnel anything itself: frames never pass through the daemon on this
// path.
//
//   device   sqvx-<h> (network_names.hpp), kind vxlan, id = vni, local = spec.local, dstport
//            = spec.port, learning on (remote VTEPs are learned from what arrives), enslaved to
//            the network's bridge, up; unicast: one all-zero-MAC FDB entry per remote (`bridge
//            fdb append 00:00:00:00:00:00 dev sqvx-<h> dst REMOTE`: head-end replication of
//            broadcast, multicast and unknown unicast), multicast: group + dev.
//   MTU      the underlay interface's (spec.dev, else the one the route to the first remote
//            leaves by) minus k_vxlan_overhead_ipv4/ipv6: the network's MTU when none is
//            asked; an asked MTU larger than that is an EINVAL Error starting "mtu:".
//   gateway  every host's bridge of such a network holds the same gateway addresses; so that
//            guests on any host see one gateway, the bridge takes anycast_gateway_mac(): the
//            same MAC on every host (EVPN's distributed anycast gateway).
//   policy   DHCP and router advertisements stay on their host: a `bridge` nft table
//            (uplink_policy_script) drops DHCPv4/DHCPv6 and RS/RA frames entering or leaving
//            by the VXLAN port, so each host's dnsmasq serves only its own guests (from its
//            own `dhcp.range` slice) and advertises only to them; given the gateway MAC, also
//            the frames of the (anycast) gateway itself, which each host serves on its own.
//
// Contract: synchronous rtnetlink request/acks on the caller's Netlink (control path, a few
// kernel round trips); on failure whatever was made is removed and the Error names the step.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <squib/core/result.hpp>
#include <squib/platform/linux/netlink.hpp>
#include <squib/proto/network_messages.hpp>

namespace squib::platform {

struct VxlanUplinkState {
  std::string device;              // the VXLAN device's name
  std::uint32_t underlay_mtu = 0;  // the underlay interface's MTU
  std::uint32_t network_mtu = 0;   // what the bridge, the TAPs and DHCP option 26 carry
};

// Creates `device` per `spec`, enslaved to `bridge`. `asked_mtu`: the network's `mtu`, if
// given. The bridge itself gets network_mtu and its MAC becomes
// anycast_gateway_mac(spec.vni, `gateway`) (host byte order IPv4 gateway of the network).
core::Result<VxlanUplinkState> create_vxlan_uplink(Netlink& netlink, const std::string& device,
                                                   const std::string& bridge, const proto::VxlanUplink& spec,
                                                   std::optional<std::uint32_t> asked_mtu, std::uint32_t gateway);

// The gateway MAC every host uses for a network with this VNI and IPv4 gateway (host byte
// order): locally administered, unicast, stable.
std::array<std::uint8_t, 6> anycast_gateway_mac(std::uint32_t vni, std::uint32_t gateway);

// The containment table's named counters (packets dropped at the VXLAN port, both ways):
// DHCPv4 (UDP 67/68), DHCPv6 (UDP 546/547), router solicitations and advertisements, and
// frames of the local gateway itself (source MAC = the anycast gateway MAC, when given).
inline constexpr const char* k_uplink_counter_dhcp = "uplink_dhcp";
inline constexpr const char* k_uplink_counter_dhcp6 = "uplink_dhcp6";
inline constexpr const char* k_uplink_counter_router_discovery = "uplink_router_discovery";
inline constexpr const char* k_uplink_counter_gateway = "uplink_gateway";

// `nft -f -` script creating (replacing) table bridge `table` with the DHCP/RA containment
// rules for `device` (see above): chain from_uplink (hook prerouting, iifname `device`) and
// to_uplink (hook postrouting, oifname `device`), so that frames the host itself receives
// or sends (its dnsmasq on the bridge) are contained as well as the ones it forwards.
//
// `gateway_mac` (extension, optional): also drop frames whose source is the anycast gateway
// MAC both ways. Every host's bridge has that MAC (and so the same IPv6 link-local address),
// and each serves its own guests: without this, one host's gateway answers (ARP replies, NAs,
// DAD probes of the shared link-local) reach the other hosts, whose bridges see their own
// MAC arrive on a port (the kernel logs "received packet … with own address as source
// address") and whose guests get every answer once per host.
std::string uplink_policy_script(const std::string& table, const std::string& device,
                                 const std::optional<std::array<std::uint8_t, 6>>& gateway_mac = std::nullopt);

// `nft -f -` script deleting table bridge `table` whether or not it exists (extension).
std::string uplink_policy_delete_script(const std::string& table);

}  // namespace squib::platform
