#include <squib/core/mac_address.hpp>

#include <cstdio>

#include <squib/core/fnv1a.hpp>

namespace squib::core {

namespace {

std::optional<std::uint8_t> hex_digit(char c) {
  if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<std::uint8_t>(c - 'A' + 10);
  return std::nullopt;
}

}  // namespace

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  // Exactly 17 characters: six two-digit hex groups separated by ':'.
  if (text.size() != 17) return std::nullopt;
  Bytes bytes{};
  for (std::size_t i = 0; i < k_size; ++i) {
    const std::size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') return std::nullopt;
    const auto hi = hex_digit(text[at]);
    const auto lo = hex_digit(text[at + 1]);
    if (!hi || !lo) return std::nullopt;
    bytes[i] = static_cast<std::uint8_t>((*hi << 4U) | *lo);
  }
  return MacAddress(bytes);
}

MacAddress MacAddress::derive_from_name(std::string_view name) {
  // Collisions only matter within one host (and are refused per segment by the registry).
  const std::uint64_t hash = fnv1a64(name);
  Bytes bytes{0x02};
  for (std::size_t i = 1; i < k_size; ++i) {
    bytes[i] = static_cast<std::uint8_t>(hash >> (8U * (i - 1)));
  }
  return MacAddress(bytes);
}

std::string MacAddress::to_string() const {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", m_bytes[0], m_bytes[1],
                m_bytes[2], m_bytes[3], m_bytes[4], m_bytes[5]);
  return text;
}

}  // namespace squib::core
