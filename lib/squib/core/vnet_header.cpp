#include <squib/core/vnet_header.hpp>

#include <array>
#include <cstring>

#include <squib/core/frame_view.hpp>

namespace squib::core {

namespace {

constexpr std::uint8_t k_ip_tcp = 6;
constexpr std::uint8_t k_ip_udp = 17;
constexpr std::size_t k_ipv6_header_size = 40;
constexpr std::size_t k_tcp_header_size = 20;
constexpr std::size_t k_udp_header_size = 8;
constexpr std::uint16_t k_tcp_checksum_offset = 16;  // RFC 9293 §3.1
constexpr std::uint16_t k_udp_checksum_offset = 6;   // RFC 768

void put_le16(std::span<std::byte> out, std::size_t at, std::uint16_t value) {
  out[at] = static_cast<std::byte>(value & 0xffU);
  out[at + 1] = static_cast<std::byte>(value >> 8U);
}

std::uint16_t le16(std::span<const std::byte> in, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(in[at]) | (std::to_integer<unsigned>(in[at + 1]) << 8U));
}

// Sum of the big-endian 16-bit words of `length` bytes at `offset` (present; even length).
std::uint32_t sum_be16(const FrameView& view, std::size_t offset, std::size_t length) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < length; i += 2) sum += view.u16_at(offset + i).value_or(0);
  return sum;
}

std::uint16_t fold32(std::uint32_t sum) {
  while ((sum >> 16U) != 0) sum = (sum & 0xffffU) + (sum >> 16U);
  return static_cast<std::uint16_t>(sum);
}

// The L4 header of a frame: where it starts, its protocol, its length (header + payload as
// the IP header states it) and the pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1).
struct Transport {
  std::size_t start = 0;
  std::uint8_t protocol = 0;
  std::size_t length = 0;
  std::uint32_t pseudo = 0;
  bool ipv6 = false;
};

// nullopt: not an unfragmented IPv4/IPv6 packet whose TCP/UDP header we can locate (it passes
// as a plain frame); a DropReason: an IP header that does not fit the frame.
std::variant<std::monostate, Transport, DropReason> locate_transport(const FrameView& view) {
  const auto ether_type = view.ether_type();
  if (ether_type == static_cast<std::uint16_t>(EtherType::ipv4)) {
    const auto version_ihl = view.u8_at(k_ethernet_header_size);
    if (!version_ihl || (*version_ihl >> 4U) != 4) return DropReason::bad_vnet_hdr;
    const std::size_t ihl = (*version_ihl & 0x0fU) * 4U;
    const auto total = view.u16_at(k_ethernet_header_size + 2);
    const auto fragment = view.u16_at(k_ethernet_header_size + 6);
    const auto protocol = view.u8_at(k_ethernet_header_size + 9);
    if (ihl < 20 || !total || !fragment || !protocol || *total < ihl || k_ethernet_header_size + *total > view.size()) {
      return DropReason::bad_vnet_hdr;
    }
    if ((*fragment & 0x3fffU) != 0) return std::monostate{};  // MF or an offset: no L4 header to offload
    if (*protocol != k_ip_tcp && *protocol != k_ip_udp) return std::monostate{};
    Transport out;
    out.start = k_ethernet_header_size + ihl;
    out.protocol = *protocol;
    out.length = *total - ihl;
    out.pseudo = sum_be16(view, k_ethernet_header_size + 12, 8) + *protocol + static_cast<std::uint32_t>(out.length);
    return out;
  }
  if (ether_type == static_cast<std::uint16_t>(EtherType::ipv6)) {
    const auto version = view.u8_at(k_ethernet_header_size);
    const auto payload = view.u16_at(k_ethernet_header_size + 4);
    const auto next = view.u8_at(k_ethernet_header_size + 6);
    if (!version || (*version >> 4U) != 6 || !payload || !next ||
        k_ethernet_header_size + k_ipv6_header_size + *payload > view.size()) {
      return DropReason::bad_vnet_hdr;
    }
    // Extension headers are left to the guest's own checksums (no offload, plain frame).
    if (*next != k_ip_tcp && *next != k_ip_udp) return std::monostate{};
    Transport out;
    out.start = k_ethernet_header_size + k_ipv6_header_size;
    out.protocol = *next;
    out.length = *payload;
    out.pseudo = sum_be16(view, k_ethernet_header_size + 8, 32) + *next + static_cast<std::uint32_t>(out.length);
    out.ipv6 = true;
    return out;
  }
  return std::monostate{};
}

}  // namespace

void VnetHeader::encode(std::span<std::byte, k_vnet_header_size> out) const {
  out[0] = static_cast<std::byte>(flags);
  out[1] = static_cast<std::byte>(gso_type);
  put_le16(out, 2, hdr_len);
  put_le16(out, 4, gso_size);
  put_le16(out, 6, csum_start);
  put_le16(out, 8, csum_offset);
  put_le16(out, 10, num_buffers);
}

VnetHeader VnetHeader::decode(std::span<const std::byte, k_vnet_header_size> in) {
  VnetHeader out;
  out.flags = std::to_integer<std::uint8_t>(in[0]);
  out.gso_type = std::to_integer<std::uint8_t>(in[1]);
  out.hdr_len = le16(in, 2);
  out.gso_size = le16(in, 4);
  out.csum_start = le16(in, 6);
  out.csum_offset = le16(in, 8);
  out.num_buffers = le16(in, 10);
  return out;
}

std::variant<TapFrame, DropReason> header_for_tap(std::span<const std::byte> frame, std::size_t mtu) {
  const FrameView view(frame);
  if (!view.has_ethernet_header()) return DropReason::runt;
  const std::size_t plain_limit = mtu + k_ethernet_header_size + k_vlan_tag_size;
  const auto located = locate_transport(view);
  if (const auto* reason = std::get_if<DropReason>(&located)) return *reason;
  const auto* transport = std::get_if<Transport>(&located);
  if (transport == nullptr) {
    if (frame.size() > plain_limit) return DropReason::oversize;
    return TapFrame{};
  }
  const std::size_t l4_header = transport->protocol == k_ip_tcp ? k_tcp_header_size : k_udp_header_size;
  if (transport->length < l4_header || transport->start + l4_header > frame.size()) return DropReason::bad_vnet_hdr;
  TapFrame out;
  VnetHeader& header = out.header;
  header.flags = k_vnet_needs_csum;
  header.csum_start = static_cast<std::uint16_t>(transport->start);
  header.csum_offset = transport->protocol == k_ip_tcp ? k_tcp_checksum_offset : k_udp_checksum_offset;
  if (frame.size() > mtu + k_ethernet_header_size) {
    if (transport->protocol != k_ip_tcp) return DropReason::oversize;  // no UDP segmentation offload
    const std::size_t data_offset = (view.u8_at(transport->start + 12).value_or(0) >> 4U) * 4U;
    const std::size_t ip_header = transport->start - k_ethernet_header_size;
    if (data_offset < k_tcp_header_size || transport->start + data_offset > frame.size() ||
        mtu <= ip_header + data_offset) {
      return DropReason::bad_vnet_hdr;
    }
    header.gso_type = transport->ipv6 ? k_vnet_gso_tcpv6 : k_vnet_gso_tcpv4;
    header.hdr_len = static_cast<std::uint16_t>(transport->start + data_offset);
    header.gso_size = static_cast<std::uint16_t>(mtu - ip_header - data_offset);
  }
  // The pseudo-header sum, uncomplemented, where the checksum goes (what Linux's
  // tcp_v4_send_check leaves for CHECKSUM_PARTIAL): the kernel adds the rest.
  const std::uint16_t pseudo = fold32(transport->pseudo);
  out.checksum_at = transport->start + header.csum_offset;
  out.checksum = {static_cast<std::byte>(pseudo >> 8U), static_cast<std::byte>(pseudo & 0xffU)};
  return out;
}

std::optional<DropReason> complete_checksum(const VnetHeader& header, std::span<std::byte> frame) {
  const std::uint8_t gso = header.gso_type & static_cast<std::uint8_t>(~k_vnet_gso_ecn);
  if (gso != k_vnet_gso_none && gso != k_vnet_gso_tcpv4 && gso != k_vnet_gso_tcpv6 && gso != k_vnet_gso_udp &&
      gso != k_vnet_gso_udp_l4) {
    return DropReason::bad_vnet_hdr;
  }
  if (gso != k_vnet_gso_none && (header.gso_size == 0 || header.hdr_len > frame.size())) {
    return DropReason::bad_vnet_hdr;
  }
  if ((header.flags & k_vnet_needs_csum) == 0) return std::nullopt;
  const std::size_t start = header.csum_start;
  const std::size_t field = start + header.csum_offset;
  if (start > frame.size() || field > frame.size() || frame.size() - field < 2) return DropReason::bad_vnet_hdr;
  // The field holds the pseudo-header sum; summing over it adds it in (skb_checksum_help).
  const std::uint16_t sum = checksum_fold(checksum_add(0, frame.subspan(start)));
  std::uint16_t result = static_cast<std::uint16_t>(~sum);
  if (result == 0 && header.csum_offset == k_udp_checksum_offset) result = 0xffff;  // RFC 768: 0 = none
  std::memcpy(frame.data() + field, &result, sizeof result);                        // native order: RFC 1071 §2(B)
  return std::nullopt;
}

std::uint64_t checksum_add(std::uint64_t sum, std::span<const std::byte> bytes) {
  // Native-order 32-bit words into a 64-bit accumulator (RFC 1071 §2(B), §2(C)): the folded
  // result stored in native order is the checksum in network order.
  std::size_t i = 0;
  for (; i + 4 <= bytes.size(); i += 4) {
    std::uint32_t word = 0;
    std::memcpy(&word, bytes.data() + i, sizeof word);
    sum += word;
  }
  if (i + 2 <= bytes.size()) {
    std::uint16_t half = 0;
    std::memcpy(&half, bytes.data() + i, sizeof half);
    sum += half;
    i += 2;
  }
  if (i < bytes.size()) {
    std::array<std::byte, 2> last{bytes[i], std::byte{0}};
    std::uint16_t half = 0;
    std::memcpy(&half, last.data(), sizeof half);
    sum += half;
  }
  return sum;
}

std::uint16_t checksum_fold(std::uint64_t sum) {
  while ((sum >> 16U) != 0) sum = (sum & 0xffffU) + (sum >> 16U);
  return static_cast<std::uint16_t>(sum);
}

}  // namespace squib::core
