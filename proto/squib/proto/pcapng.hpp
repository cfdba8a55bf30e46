#pragma once

// pcapng records of a capture stream (`capture` method, proto/control-protocol.md): the
// daemon encodes one Enhanced Packet Block (EPB) per captured frame and one Interface
// Statistics Block (ISB) at the end, each sent as one datagram; the client writes the
// Section Header Block (SHB) and Interface Description Block (IDB) first and then appends
// the records as they come, so the file is valid pcapng after every record.
//
// Format: draft-ietf-opsawg-pcapng (the IETF draft of the pcapng format, sections cited
// below). Blocks are in the writer's byte order (the SHB's byte-order magic says which);
// daemon and client run on one host, so host order throughout. Every block is
// {u32 type, u32 total length, body, u32 total length}, padded to 32 bits.
//
// Encoders write into a caller's buffer and allocate nothing (the daemon calls them per
// captured frame); they return the bytes written, or 0 when the buffer is too small.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace squib::proto::pcapng {

// §4.1 SHB, §4.2 IDB, §4.3 EPB, §4.6 ISB block types.
inline constexpr std::uint32_t k_section_header = 0x0A0D0D0A;
inline constexpr std::uint32_t k_interface_description = 0x00000001;
inline constexpr std::uint32_t k_enhanced_packet = 0x00000006;
inline constexpr std::uint32_t k_interface_statistics = 0x00000005;
inline constexpr std::uint32_t k_byte_order_magic = 0x1A2B3C4D;
// LINKTYPE_ETHERNET (tcpdump.org link-layer header types).
inline constexpr std::uint16_t k_linktype_ethernet = 1;

// §4.3.1 epb_flags bits 0-1: direction. squib-netd takes the guest's point of view (as a
// capture on the guest's own NIC would): frames to the VM are inbound, frames from it outbound.
enum class Direction : std::uint32_t { inbound = 1, outbound = 2 };

// Option codes: opt_comment (§3.5), epb_flags (2) and epb_dropcount (4) (§4.3.1),
// isb_ifrecv (4), isb_osdrop (7), isb_usrdeliv (8) (§4.6.1), if_name (2) (§4.2.1).
inline constexpr std::uint16_t k_opt_comment = 1;
inline constexpr std::uint16_t k_epb_flags = 2;
inline constexpr std::uint16_t k_epb_dropcount = 4;
inline constexpr std::uint16_t k_isb_ifrecv = 4;
inline constexpr std::uint16_t k_isb_osdrop = 7;
inline constexpr std::uint16_t k_isb_usrdeliv = 8;
inline constexpr std::uint16_t k_if_name = 2;

// The longest comment an EPB carries; longer text is cut (drop-reason names are far shorter).
inline constexpr std::size_t k_max_comment = 64;

// The largest EPB for frames captured up to `snaplen` bytes: header 28, data padded, the
// options (flags 8, dropcount 12, comment 4 + k_max_comment, end 4) and the trailing length.
constexpr std::size_t max_enhanced_packet_size(std::size_t snaplen) {
  return 28 + ((snaplen + 3) & ~std::size_t{3}) + 8 + 12 + 4 + k_max_comment + 4 + 4;
}
inline constexpr std::size_t k_interface_statistics_size = 24 + 3 * 12 + 4 + 4;

struct EnhancedPacket {
  std::uint64_t timestamp_us = 0;       // microseconds since the epoch (if_tsresol default)
  std::span<const std::byte> captured;  // the frame's first bytes (at most snaplen)
  std::uint32_t original_length = 0;    // the whole frame's length
  Direction direction = Direction::inbound;
  std::uint64_t dropcount = 0;  // capture records lost since the previous one; 0: no option
  std::string_view comment;     // empty: no option
};
std::size_t encode(std::span<std::byte> out, const EnhancedPacket& packet);

struct InterfaceStatistics {
  std::uint64_t timestamp_us = 0;
  std::uint64_t received = 0;   // frames the capture matched (isb_ifrecv)
  std::uint64_t lost = 0;       // of those, lost because the client did not keep up (isb_osdrop)
  std::uint64_t delivered = 0;  // sent to the client (isb_usrdeliv)
};
std::size_t encode(std::span<std::byte> out, const InterfaceStatistics& statistics);

// SHB (no options) followed by the IDB of interface 0: Ethernet, `snaplen`, if_name `name`.
std::vector<std::byte> file_header(std::uint32_t snaplen, std::string_view name);

// What a client needs from a record it received: its block type, and for an EPB its drop
// count, for an ISB its counters. nullopt: not one well-formed block.
struct RecordSummary {
  std::uint32_t type = 0;
  std::uint64_t dropcount = 0;
  InterfaceStatistics statistics;
};
std::optional<RecordSummary> summarize(std::span<const std::byte> record);

}  // namespace squib::proto::pcapng
