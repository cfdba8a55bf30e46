#pragma once

// MacAddress: a 48-bit IEEE 802 address. Parsing is strict ("aa:bb:cc:dd:ee:ff", hex digits
// in either case) and returns std::nullopt on anything else.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace squib::core {

class MacAddress {
public:
  static constexpr std::size_t k_size = 6;
  using Bytes = std::array<std::uint8_t, k_size>;

  constexpr MacAddress() = default;
  constexpr explicit MacAddress(const Bytes& bytes) : m_bytes(bytes) {}

  static std::optional<MacAddress> parse(std::string_view text);

  // A locally administered unicast address that is stable for a given attachment name:
  // 02-prefixed (IEEE 802 §8.2: I/G bit 0 = unicast, U/L bit 1 = local) followed by five
  // bytes of FNV-1a-64 of the name, so a VM keeps its MAC (and its DHCP lease) across
  // daemon restarts without any stored state.
  static MacAddress derive_from_name(std::string_view name);

  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] const Bytes& bytes() const { return m_bytes; }
  [[nodiscard]] bool is_multicast() const { return (m_bytes[0] & 0x01U) != 0; }
  [[nodiscard]] bool is_broadcast() const { return m_bytes == Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; }
  [[nodiscard]] bool is_zero() const { return m_bytes == Bytes{}; }

  friend bool operator==(const MacAddress&, const MacAddress&) = default;

private:
  Bytes m_bytes{};
};

}  // namespace squib::core
