#include <squib/relay/source_guard.hpp>

#include <squib/core/assert.hpp>
#include <squib/core/frame_view.hpp>

#include <cstring>

namespace squib::relay {

using core::DropReason;
using core::FrameView;

namespace {

constexpr std::size_t k_l3 = core::k_ethernet_header_size;  // first byte after the Ethernet header

// EtherTypes (IEEE registry) the guard treats specially beyond core::EtherType.
constexpr std::uint16_t k_ether_type_qinq = 0x88a8;         // IEEE 802.1ad S-tag
constexpr std::uint16_t k_ether_type_qinq_legacy = 0x9100;  // pre-802.1ad QinQ

constexpr std::size_t k_ethernet_source = 6;  // IEEE 802.3 §3.1.1: destination, source, type

// RFC 826 ARP for IPv4 over Ethernet: ptype 0x0800, hlen 6 and plen 4 read as one u32 at +2;
// sender hardware address at +8, sender protocol address at +14.
constexpr std::size_t k_arp_format = k_l3 + 2;
constexpr std::uint32_t k_arp_ipv4_over_ethernet = 0x08000604;
constexpr std::size_t k_arp_sender_mac = k_l3 + 8;
constexpr std::size_t k_arp_sender_ip = k_l3 + 14;

// RFC 791 §3.1: version/IHL at +0, flags/fragment offset at +6, protocol at +9, source at +12.
constexpr std::size_t k_ipv4_min_header = 20;
constexpr std::size_t k_ipv4_fragment = k_l3 + 6;
constexpr std::size_t k_ipv4_protocol = k_l3 + 9;
constexpr std::size_t k_ipv4_source = k_l3 + 12;
constexpr std::uint16_t k_ipv4_more_fragments_and_offset = 0x3fff;  // MF bit + 13-bit offset
constexpr std::uint8_t k_ip_protocol_udp = 17;
// RFC 2131 §4.1: client port 68 → server port 67, as one u32 of the UDP header's first word.
constexpr std::uint32_t k_dhcp_client_to_server_ports = (68U << 16U) | 67U;

}  // namespace

std::optional<DropReason> SourceGuard::check(std::span<const std::byte> bytes) const {
  const FrameView frame(bytes);
  if (!frame.has_ethernet_header()) return DropReason::runt;
  // The source MAC of the 14 bytes just checked, compared in place (as before the guard
  // existed): the one test every frame takes, so it must stay a few instructions.
  if (std::memcmp(frame.bytes().data() + k_ethernet_source, m_mac.bytes().data(), core::MacAddress::k_size) != 0) {
    return DropReason::spoofed_mac;
  }
  const std::uint16_t type = frame.ether_type().value_or(0);  // present: the header is complete
  if (type == static_cast<std::uint16_t>(core::EtherType::arp)) return check_arp(frame);
  if (!m_ipv4) return std::nullopt;
  if (type == static_cast<std::uint16_t>(core::EtherType::ipv4)) return check_ipv4(frame, *m_ipv4);
  if (type == static_cast<std::uint16_t>(core::EtherType::vlan) || type == k_ether_type_qinq ||
      type == k_ether_type_qinq_legacy) {
    return DropReason::spoofed_ip;
  }
  return std::nullopt;
}

std::optional<DropReason> SourceGuard::check_arp(const FrameView& frame) const {
  // htype is left to the kernel (arp_rcv() checks it against the device type); the offsets
  // below depend only on ptype, hlen and plen.
  const auto format = frame.u32_at(k_arp_format);
  const auto sender_ip = frame.u32_at(k_arp_sender_ip);  // the last field read: bounds the rest
  if (format != k_arp_ipv4_over_ethernet || !sender_ip) return DropReason::spoofed_mac;
  // Present: it ends before the sender address just read.
  if (std::memcmp(frame.bytes().data() + k_arp_sender_mac, m_mac.bytes().data(), core::MacAddress::k_size) != 0) {
    return DropReason::spoofed_mac;
  }
  if (m_ipv4 && *sender_ip != *m_ipv4 && *sender_ip != 0) return DropReason::spoofed_ip;
  return std::nullopt;
}

std::optional<DropReason> SourceGuard::check_ipv4(const FrameView& frame, std::uint32_t allowed) const {
  const auto version_ihl = frame.u8_at(k_l3);
  if (!version_ihl || (*version_ihl >> 4U) != 4) return DropReason::spoofed_ip;
  const std::size_t header = std::size_t{*version_ihl & 0x0fU} * 4U;
  if (header < k_ipv4_min_header || frame.size() < k_l3 + header) return DropReason::spoofed_ip;
  const auto source = frame.u32_at(k_ipv4_source);  // within the header checked above
  if (source == allowed) return std::nullopt;
  if (source != 0U) return DropReason::spoofed_ip;
  // 0.0.0.0: only a DHCP client message, which is never fragmented.
  const bool dhcp = frame.u8_at(k_ipv4_protocol) == k_ip_protocol_udp &&
                    (frame.u16_at(k_ipv4_fragment).value_or(0xffff) & k_ipv4_more_fragments_and_offset) == 0 &&
                    frame.u32_at(k_l3 + header) == k_dhcp_client_to_server_ports;
  return dhcp ? std::nullopt : std::optional(DropReason::spoofed_ip);
}

void SourceGuard::filter(const core::FrameBatch& in, core::FrameBatch& out, core::AttachmentStats& stats,
                         std::span<std::optional<core::DropReason>> verdicts) const {
  SQUIB_ASSERT(out.empty());
  SQUIB_ASSERT(verdicts.empty() || verdicts.size() >= in.count);
  for (std::size_t i = 0; i < in.count; ++i) {
    const auto frame = in.frames[i];
    const auto reason = check(frame);
    if (!verdicts.empty()) verdicts[i] = reason;
    if (reason) {
      stats.drop(*reason);
    } else {
      out.push(frame);
    }
  }
}

}  // namespace squib::relay
