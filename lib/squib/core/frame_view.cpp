#include <squib/core/frame_view.hpp>

#include <cstring>

namespace squib::core {

std::optional<std::span<const std::byte>> FrameView::payload() const {
  if (!has_ethernet_header()) return std::nullopt;
  return m_bytes.subspan(k_ethernet_header_size);
}

std::optional<std::uint8_t> FrameView::u8_at(std::size_t offset) const {
  if (offset >= m_bytes.size()) return std::nullopt;
  return std::to_integer<std::uint8_t>(m_bytes[offset]);
}

std::optional<std::uint16_t> FrameView::u16_at(std::size_t offset) const {
  if (offset > m_bytes.size() || m_bytes.size() - offset < 2) return std::nullopt;
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(m_bytes[offset]) << 8U) |
                                    std::to_integer<unsigned>(m_bytes[offset + 1]));
}

std::optional<std::uint32_t> FrameView::u32_at(std::size_t offset) const {
  if (offset > m_bytes.size() || m_bytes.size() - offset < 4) return std::nullopt;
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value = (value << 8U) | std::to_integer<std::uint32_t>(m_bytes[offset + i]);
  }
  return value;
}

std::optional<MacAddress> FrameView::mac_at(std::size_t offset) const {
  if (offset > m_bytes.size() || m_bytes.size() - offset < MacAddress::k_size) return std::nullopt;
  MacAddress::Bytes mac{};
  std::memcpy(mac.data(), m_bytes.data() + offset, mac.size());
  return MacAddress(mac);
}

bool is_vfkit_handshake(std::span<const std::byte> datagram) {
  return datagram.size() == k_vfkit_magic_size && std::memcmp(datagram.data(), "VFKT", 4) == 0;
}

}  // namespace squib::core
