#pragma once

// Ipv4Subnet: a host/shared network's IPv4 plan from its CIDR: gateway = first host (.1,
// on the bridge), DHCP range = second host to the last before broadcast (.2–.254 in a /24),
// as socket_vmnet and libvirt's default network lay them out. Prefixes /8 to /30 only
// (design brief §3): /31 and /32 leave no room for a gateway plus a guest.
// Addresses are host byte order here; to_string/netlink conversions say so.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace squib::core {

struct Ipv4Subnet {
  std::uint32_t network = 0;  // host byte order, host bits zero
  unsigned prefix = 24;

  // "a.b.c.d/n" with n in 8..30; host bits must be zero. nullopt on anything else.
  static std::optional<Ipv4Subnet> parse(std::string_view cidr);
  // The subnet of `address` under a contiguous `mask` (both host order), as an interface's
  // address and netmask describe it (vmnet's start address and subnet mask); prefixes as above.
  static std::optional<Ipv4Subnet> of(std::uint32_t address, std::uint32_t mask);

  [[nodiscard]] std::uint32_t mask() const { return prefix == 0 ? 0 : 0xffffffffU << (32 - prefix); }
  [[nodiscard]] std::uint32_t broadcast() const { return network | ~mask(); }
  [[nodiscard]] std::uint32_t gateway() const { return network + 1; }
  [[nodiscard]] std::uint32_t dhcp_first() const { return network + 2; }
  [[nodiscard]] std::uint32_t dhcp_last() const { return broadcast() - 1; }
  [[nodiscard]] bool contains(std::uint32_t address) const { return (address & mask()) == network; }
  [[nodiscard]] bool overlaps(const Ipv4Subnet& other) const {
    const std::uint32_t common = prefix < other.prefix ? mask() : other.mask();
    return (network & common) == (other.network & common);
  }
  [[nodiscard]] std::string to_string() const;  // "a.b.c.d/n"

  friend bool operator==(const Ipv4Subnet&, const Ipv4Subnet&) = default;
};

std::string ipv4_to_string(std::uint32_t address);  // host byte order → dotted quad
std::optional<std::uint32_t> parse_ipv4(std::string_view dotted_quad);  // → host byte order

}  // namespace squib::core
