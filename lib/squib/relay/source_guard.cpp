#include <squib/relay/source_guard.hpp>

#include <squib/core/assert.hpp>
#include <squib/core/frame_view.hpp>

#include <algorithm>
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
constexpr std::uint16_t k_ipv4_offset = 0x1fff;
constexpr std::uint8_t k_ip_protocol_udp = 17;
// RFC 2131 §4.1: client port 68 → server port 67, as one u32 of the UDP header's first word.
constexpr std::uint32_t k_dhcp_client_to_server_ports = (68U << 16U) | 67U;
constexpr std::uint16_t k_dhcp_server_port = 67;
constexpr std::uint16_t k_dhcpv6_server_port = 547;  // RFC 8415 §7.2: servers and relays send from it

// RFC 8200 §3: version at +0 (high nibble), next header at +6, source at +8, 40 bytes.
constexpr std::size_t k_ipv6_header = 40;
constexpr std::size_t k_ipv6_next_header = k_l3 + 6;
constexpr std::size_t k_ipv6_source = k_l3 + 8;
constexpr std::size_t k_ipv6_address_size = 16;
// Extension headers (IANA "IPv6 Extension Header Types", RFC 7045 §2) the walk skips.
constexpr std::uint8_t k_ipv6_hop_by_hop = 0;
constexpr std::uint8_t k_ipv6_routing = 43;
constexpr std::uint8_t k_ipv6_fragment = 44;
constexpr std::uint8_t k_ipv6_authentication = 51;
constexpr std::uint8_t k_ipv6_destination_options = 60;
constexpr std::uint8_t k_ipv6_mobility = 135;
constexpr std::uint8_t k_ipv6_hip = 139;
constexpr std::uint8_t k_ipv6_shim6 = 140;
constexpr std::size_t k_ipv6_fragment_header = 8;
constexpr std::uint16_t k_ipv6_fragment_offset = 0xfff8;  // RFC 8200 §4.5: 13 bits, then res, M
constexpr std::uint8_t k_ip_protocol_icmpv6 = 58;
// ICMPv6 types (RFC 4443, RFC 4861 §4, RFC 2710, RFC 3810).
constexpr std::uint8_t k_icmpv6_mld_report = 131;
constexpr std::uint8_t k_icmpv6_router_solicitation = 133;
constexpr std::uint8_t k_icmpv6_router_advertisement = 134;
constexpr std::uint8_t k_icmpv6_neighbour_solicitation = 135;
constexpr std::uint8_t k_icmpv6_neighbour_advertisement = 136;
constexpr std::uint8_t k_icmpv6_mld2_report = 143;
// RFC 4861 §4.3/§4.4: NS and NA carry their target address after type, code, checksum and
// 4 bytes (reserved; NA: flags).
constexpr std::size_t k_nd_target = 8;
// RFC 4861 §4.6.1: source (1) and target (2) link-layer address options, 8 bytes on Ethernet
// (type, length 1, MAC); where each message's options start (§4.1-§4.5).
constexpr std::uint8_t k_nd_option_source_mac = 1;
constexpr std::uint8_t k_nd_option_target_mac = 2;
constexpr std::size_t k_ipv6_payload_length = k_l3 + 4;
constexpr std::uint8_t k_icmpv6_redirect = 137;

std::size_t nd_options_at(std::uint8_t type) {
  switch (type) {
    case k_icmpv6_router_solicitation: return 8;
    case k_icmpv6_neighbour_solicitation:
    case k_icmpv6_neighbour_advertisement: return 24;
    case k_icmpv6_redirect: return 40;
    default: return 0;  // not an ND message with link-layer address options
  }
}

bool is_ipv6_extension_header(std::uint8_t next) {
  switch (next) {
    case k_ipv6_hop_by_hop:
    case k_ipv6_routing:
    case k_ipv6_fragment:
    case k_ipv6_authentication:
    case k_ipv6_destination_options:
    case k_ipv6_mobility:
    case k_ipv6_hip:
    case k_ipv6_shim6: return true;
    default: return false;
  }
}

bool all_zero(std::span<const std::byte> bytes) {
  for (const auto byte : bytes) {
    if (byte != std::byte{0}) return false;
  }
  return true;
}

// Neighbour discovery's link-layer address options (RFC 4861 §4.6.1: the source or target
// link-layer address of an RS, NS, NA or redirect; the ICMPv6 header at `icmpv6`, present)
// must carry the attachment's MAC, else spoofed_mac, at both guard levels — as an ARP sender
// hardware address: a guest must not point its neighbours' caches at another MAC. An option
// of length 0 (invalid, §4.6) or running past the payload cannot be verified: spoofed_mac.
std::optional<DropReason> check_nd_options(const FrameView& frame, std::size_t icmpv6, std::uint8_t type,
                                           const core::MacAddress& mac) {
  const std::size_t first = nd_options_at(type);
  if (first == 0) return std::nullopt;
  // The options end with the IPv6 payload (not the frame, which may carry Ethernet padding).
  const std::size_t end =
      std::min(frame.size(), k_l3 + k_ipv6_header + frame.u16_at(k_ipv6_payload_length).value_or(0));
  for (std::size_t at = icmpv6 + first; at < end;) {
    const auto option = frame.u8_at(at);
    const auto length = frame.u8_at(at + 1);
    // RFC 4861 §4.6: a zero length is invalid; an option past the payload cannot be verified.
    if (!option || !length || *length == 0 || end - at < std::size_t{*length} * 8U) return DropReason::spoofed_mac;
    if ((*option == k_nd_option_source_mac || *option == k_nd_option_target_mac) && *length == 1 &&
        std::memcmp(frame.bytes().data() + at + 2, mac.bytes().data(), core::MacAddress::k_size) != 0) {
      return DropReason::spoofed_mac;  // would point neighbours' caches at another MAC
    }
    at += std::size_t{*length} * 8U;
  }
  return std::nullopt;
}

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
  if (type == static_cast<std::uint16_t>(core::EtherType::ipv6)) return check_ipv6(frame);
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
  if (m_ipv4 && m_level == GuardLevel::full && *sender_ip != *m_ipv4 && *sender_ip != 0) return DropReason::spoofed_ip;
  return std::nullopt;
}

std::optional<DropReason> SourceGuard::check_ipv4(const FrameView& frame, std::uint32_t allowed) const {
  const auto version_ihl = frame.u8_at(k_l3);
  if (!version_ihl || (*version_ihl >> 4U) != 4) return DropReason::spoofed_ip;
  const std::size_t header = std::size_t{*version_ihl & 0x0fU} * 4U;
  if (header < k_ipv4_min_header || frame.size() < k_l3 + header) return DropReason::spoofed_ip;
  // Within the header checked above.
  const bool udp = frame.u8_at(k_ipv4_protocol) == k_ip_protocol_udp;
  const std::uint16_t fragment = frame.u16_at(k_ipv4_fragment).value_or(0xffff);
  if (m_level == GuardLevel::full) {
    const auto source = frame.u32_at(k_ipv4_source);
    if (source != allowed) {
      // 0.0.0.0: only a DHCP client message, which is never fragmented.
      const bool dhcp_client = source == 0U && udp && (fragment & k_ipv4_more_fragments_and_offset) == 0 &&
                               frame.u32_at(k_l3 + header) == k_dhcp_client_to_server_ports;
      return dhcp_client ? std::nullopt : std::optional(DropReason::spoofed_ip);
    }
  }
  // Rogue DHCP: the first fragment holds the UDP ports (later ones pass, see the header).
  if (!udp || (fragment & k_ipv4_offset) != 0) return std::nullopt;
  const auto source_port = frame.u16_at(k_l3 + header);
  if (!source_port) return DropReason::spoofed_ip;
  return *source_port == k_dhcp_server_port ? std::optional(DropReason::dhcp_server) : std::nullopt;
}

bool SourceGuard::own_ipv6_at(const FrameView& frame, std::size_t offset) const {
  const auto* address = frame.bytes().data() + offset;
  return std::memcmp(address, m_link_local.data(), k_ipv6_address_size) == 0 ||
         (m_ipv6 && std::memcmp(address, m_ipv6->data(), k_ipv6_address_size) == 0);
}

std::optional<DropReason> SourceGuard::check_ipv6(const FrameView& frame) const {
  const auto version = frame.u8_at(k_l3);
  if (!version || (*version >> 4U) != 6 || frame.size() < k_l3 + k_ipv6_header) return DropReason::spoofed_ip;
  // Walk the extension headers to the upper layer (see the header for the rules).
  std::uint8_t next = *frame.u8_at(k_ipv6_next_header);  // within the fixed header
  std::size_t offset = k_l3 + k_ipv6_header;
  bool fragmented = false;
  bool later_fragment = false;
  for (unsigned walked = 0; is_ipv6_extension_header(next); ++walked) {
    if (walked == k_max_ipv6_extension_headers) return DropReason::spoofed_ip;
    const auto following = frame.u8_at(offset);
    const auto length = frame.u8_at(offset + 1);
    if (!following || !length) return DropReason::spoofed_ip;
    std::size_t size = (std::size_t{*length} + 1U) * 8U;
    if (next == k_ipv6_fragment) {
      size = k_ipv6_fragment_header;
      fragmented = true;
      later_fragment = (frame.u16_at(offset + 2).value_or(0) & k_ipv6_fragment_offset) != 0;
    } else if (next == k_ipv6_authentication) {
      size = (std::size_t{*length} + 2U) * 4U;  // RFC 4302 §2.2
    }
    if (frame.size() - offset < size) return DropReason::spoofed_ip;  // the chain must end within the frame
    next = *following;
    offset += size;
    if (later_fragment) break;  // what follows is the fragment's data, not headers
  }
  // `offset` is where the upper-layer header starts (first fragments and whole packets).
  const bool icmpv6 = !later_fragment && next == k_ip_protocol_icmpv6;
  std::uint8_t icmpv6_type = 0;
  if (icmpv6) {
    const auto read = frame.u8_at(offset);
    if (!read) return DropReason::spoofed_ip;
    icmpv6_type = *read;
  }

  if (m_level == GuardLevel::full && !own_ipv6_at(frame, k_ipv6_source)) {
    if (!all_zero(frame.bytes().subspan(k_ipv6_source, k_ipv6_address_size)) || fragmented || !icmpv6) {
      return DropReason::spoofed_ip;
    }
    // From ::, only what a node sends before it has an address (see the header).
    switch (icmpv6_type) {
      case k_icmpv6_router_solicitation:
      case k_icmpv6_mld_report:
      case k_icmpv6_mld2_report: break;
      case k_icmpv6_neighbour_solicitation:  // duplicate address detection of an own address
        if (frame.size() - offset < k_nd_target + k_ipv6_address_size || !own_ipv6_at(frame, offset + k_nd_target)) {
          return DropReason::spoofed_ip;
        }
        break;
      default: return DropReason::spoofed_ip;
    }
  }
  if (later_fragment) return std::nullopt;
  if (icmpv6) {
    if (icmpv6_type == k_icmpv6_router_advertisement) return DropReason::router_advertisement;
    if (const auto reason = check_nd_options(frame, offset, icmpv6_type, m_mac)) return reason;
    if (icmpv6_type == k_icmpv6_neighbour_advertisement && m_level == GuardLevel::full &&
        (frame.size() - offset < k_nd_target + k_ipv6_address_size || !own_ipv6_at(frame, offset + k_nd_target))) {
      return DropReason::spoofed_ip;
    }
    return std::nullopt;
  }
  if (next == k_ip_protocol_udp) {
    const auto source_port = frame.u16_at(offset);
    if (!source_port) return DropReason::spoofed_ip;
    if (*source_port == k_dhcpv6_server_port) return DropReason::dhcp_server;
  }
  return std::nullopt;
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
