#pragma once

// IpAddress: an IPv4 or IPv6 literal as the kernel carries it (network byte order, 4 or 16
// bytes). One parser for every place that takes an address as text — control parameters
// (proto) and netlink requests (platform) — so both agree on what an address is.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace squib::core {

struct IpAddress {
  bool ipv6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4: the first 4, the rest zero

  [[nodiscard]] std::size_t size() const { return ipv6 ? 16 : 4; }
  // 224.0.0.0/4 (RFC 5771) or ff00::/8 (RFC 4291 §2.7).
  [[nodiscard]] bool is_multicast() const { return ipv6 ? bytes[0] == 0xff : (bytes[0] & 0xf0U) == 0xe0; }
  [[nodiscard]] const char* family_name() const { return ipv6 ? "IPv6" : "IPv4"; }
  bool operator==(const IpAddress&) const = default;
};

// A dotted quad or an RFC 4291 text IPv6 address (inet_pton(3)); nullopt when neither.
std::optional<IpAddress> parse_ip_address(std::string_view text);

}  // namespace squib::core
