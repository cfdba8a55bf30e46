#include <squib/core/ipv6_prefix.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include <squib/core/sha1.hpp>

namespace squib::core {

std::optional<Ipv6Address> parse_ipv6(std::string_view text) {
  // inet_pton needs a NUL-terminated string; an IPv6 text is at most 45 characters.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[46] = {};
  std::memcpy(buffer, text.data(), text.size());
  Ipv6Address address{};
  if (inet_pton(AF_INET6, buffer, address.data()) != 1) return std::nullopt;
  return address;
}

std::string ipv6_to_string(const Ipv6Address& address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, address.data(), buffer, sizeof buffer);
  return buffer;
}

std::array<std::uint8_t, 8> eui64_interface_id(const MacAddress& mac) {
  const auto& octets = mac.bytes();
  return {
      static_cast<std::uint8_t>(octets[0] ^ 0x02U), octets[1], octets[2], 0xff, 0xfe, octets[3], octets[4], octets[5]};
}

namespace {

Ipv6Address with_interface_id(const Ipv6Address& network, const std::array<std::uint8_t, 8>& id) {
  Ipv6Address address = network;
  std::copy(id.begin(), id.end(), address.begin() + 8);
  return address;
}

}  // namespace

Ipv6Address link_local_for(const MacAddress& mac) {
  Ipv6Address network{};
  network[0] = 0xfe;
  network[1] = 0x80;
  return with_interface_id(network, eui64_interface_id(mac));
}

std::optional<Ipv6Prefix> Ipv6Prefix::parse(std::string_view cidr) {
  const auto slash = cidr.rfind('/');
  if (slash == std::string_view::npos || cidr.substr(slash + 1) != "64") return std::nullopt;
  const auto address = parse_ipv6(cidr.substr(0, slash));
  if (!address) return std::nullopt;
  if (std::any_of(address->begin() + 8, address->end(), [](std::uint8_t b) { return b != 0; })) return std::nullopt;
  const bool link_local = (*address)[0] == 0xfe && ((*address)[1] & 0xc0U) == 0x80;
  const bool multicast = (*address)[0] == 0xff;
  // With the interface identifier zero, ::/64 covers both :: and ::1.
  const bool unspecified_or_loopback =
      std::all_of(address->begin(), address->begin() + 8, [](std::uint8_t b) { return b == 0; });
  if (link_local || multicast || unspecified_or_loopback) return std::nullopt;
  return Ipv6Prefix{*address};
}

Ipv6Prefix Ipv6Prefix::ula_for(std::string_view network_name) {
  Sha1 hash;
  hash.update(std::string_view{"squib-netd"});
  hash.update(network_name);
  const Sha1Digest digest = hash.digest();
  Ipv6Prefix prefix;
  prefix.network[0] = 0xfd;
  std::copy(digest.begin(), digest.begin() + 5, prefix.network.begin() + 1);  // Global ID
  // Subnet ID (bytes 6-7) 0.
  return prefix;
}

Ipv6Address Ipv6Prefix::gateway() const {
  Ipv6Address address = network;
  address[15] = 1;
  return address;
}

Ipv6Address Ipv6Prefix::slaac_address(const MacAddress& mac) const {
  return with_interface_id(network, eui64_interface_id(mac));
}

bool Ipv6Prefix::contains(const Ipv6Address& address) const {
  return std::equal(network.begin(), network.begin() + 8, address.begin());
}

std::string Ipv6Prefix::to_string() const { return ipv6_to_string(network) + "/64"; }

}  // namespace squib::core
