#include <squib/core/ipv4_subnet.hpp>

#include <arpa/inet.h>

#include <bit>
#include <charconv>

namespace squib::core {

std::optional<Ipv4Subnet> Ipv4Subnet::parse(std::string_view cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string address(cidr.substr(0, slash));
  const auto prefix_text = cidr.substr(slash + 1);
  unsigned prefix = 0;
  const auto [end, ec] = std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
  if (ec != std::errc{} || end != prefix_text.data() + prefix_text.size() || prefix_text.empty()) return std::nullopt;
  if (prefix < 8 || prefix > 30) return std::nullopt;
  const auto parsed = parse_ipv4(address);
  if (!parsed) return std::nullopt;
  Ipv4Subnet subnet;
  subnet.prefix = prefix;
  subnet.network = *parsed;
  if ((subnet.network & ~subnet.mask()) != 0) return std::nullopt;
  return subnet;
}

std::optional<Ipv4Subnet> Ipv4Subnet::of(std::uint32_t address, std::uint32_t mask) {
  if ((~mask & (~mask + 1U)) != 0) return std::nullopt;  // the host bits must be one run of ones
  const auto prefix = static_cast<unsigned>(std::popcount(mask));
  if (prefix < 8 || prefix > 30) return std::nullopt;
  return Ipv4Subnet{address & mask, prefix};
}

std::optional<std::uint32_t> parse_ipv4(std::string_view dotted_quad) {
  const std::string text(dotted_quad);
  in_addr parsed{};
  if (::inet_pton(AF_INET, text.c_str(), &parsed) != 1) return std::nullopt;
  return ntohl(parsed.s_addr);
}

std::string Ipv4Subnet::to_string() const { return ipv4_to_string(network) + "/" + std::to_string(prefix); }

std::string ipv4_to_string(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

}  // namespace squib::core
