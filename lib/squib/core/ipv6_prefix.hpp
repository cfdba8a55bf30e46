#pragma once

// IPv6 addressing of host/shared networks (issue 13): each network has one /64, by default a
// ULA prefix derived from its name (RFC 4193 §3.2: fd00::/8, a 40-bit Global ID, a 16-bit
// Subnet ID — here the first 40 bits of SHA-1 over the network's name salted with
// "squib-netd", subnet 0, so the same name gives the same prefix on every host and after
// every restart); the gateway holds ::1 of it (on the bridge), and a guest with the kernel's
// default configuration forms its address by SLAAC from its MAC (modified EUI-64, RFC 4291
// §2.5.1 and appendix A), which is what the daemon reports and the source guard allows.
// Privacy or stable-privacy addresses (RFC 4941/7217) are not the guest's network address and
// are dropped by the guard unless it is relaxed (`guard: "mac"`).
//
// Addresses are 16 bytes in network byte order (as in a packet and in6_addr).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <squib/core/mac_address.hpp>

namespace squib::core {

using Ipv6Address = std::array<std::uint8_t, 16>;

// inet_pton(AF_INET6); nullopt on anything it rejects.
std::optional<Ipv6Address> parse_ipv6(std::string_view text);
// inet_ntop(AF_INET6): the RFC 5952 canonical text ("fd12:3456:789a::1").
std::string ipv6_to_string(const Ipv6Address& address);

// fe80::/64 with the MAC's modified EUI-64 interface identifier: the link-local address a
// guest forms by default.
Ipv6Address link_local_for(const MacAddress& mac);
// The modified EUI-64 interface identifier (RFC 4291 appendix A): the MAC with ff:fe in the
// middle and the universal/local bit flipped.
std::array<std::uint8_t, 8> eui64_interface_id(const MacAddress& mac);

struct Ipv6Prefix {
  Ipv6Address network{};  // the first 8 bytes; the last 8 are zero

  // "x:…::/64" only (SLAAC needs exactly a /64, RFC 4862 §5.5.3 with RFC 4291's 64-bit
  // interface identifiers); the interface-identifier bits must be zero. Link-local
  // (fe80::/10), multicast (ff00::/8), loopback and unspecified are refused: a network's
  // prefix must be routable on its link. nullopt on anything else.
  static std::optional<Ipv6Prefix> parse(std::string_view cidr);
  // The stable ULA /64 of the network named `network_name` (see above).
  static Ipv6Prefix ula_for(std::string_view network_name);

  [[nodiscard]] Ipv6Address gateway() const;                             // <prefix>::1
  [[nodiscard]] Ipv6Address slaac_address(const MacAddress& mac) const;  // <prefix>:EUI-64
  [[nodiscard]] bool contains(const Ipv6Address& address) const;
  [[nodiscard]] std::string to_string() const;  // "fdxx:xxxx:xxxx::/64"
  friend bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;
};

}  // namespace squib::core
