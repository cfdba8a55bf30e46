// Tests of squib/core/vnet_header.hpp: the 12-byte virtio_net_hdr_v1 wire form, the header an
// offload VM's frame gets on its way into a TAP (GSO for TCP super-frames, NEEDS_CSUM with
// the pseudo-header sum, oversize and bad_vnet_hdr drops), and the checks and checksum
// completion of a TAP's header on the way back. Frames are built byte by byte (RFC 791,
// RFC 8200, RFC 9293); checksums are verified by summing the result to 0xffff (RFC 1071).

#include <squib/core/vnet_header.hpp>

#include <cstdint>
#include <variant>
#include <vector>

#include "support/catch.hpp"

namespace {

using squib::core::DropReason;
using squib::core::TapFrame;
using squib::core::VnetHeader;
namespace core = squib::core;

using Frame = std::vector<std::byte>;

void put16(Frame& f, std::size_t at, unsigned value) {
  f[at] = static_cast<std::byte>((value >> 8U) & 0xffU);
  f[at + 1] = static_cast<std::byte>(value & 0xffU);
}
unsigned get16(const Frame& f, std::size_t at) {
  return (std::to_integer<unsigned>(f[at]) << 8U) | std::to_integer<unsigned>(f[at + 1]);
}

// Ethernet + IPv4 (20 bytes, 10.0.0.1 → 10.0.0.2) + TCP (20 bytes) + `payload` bytes of a
// counting pattern; the TCP checksum field holds `checksum`.
Frame tcp4(std::size_t payload, unsigned checksum = 0, std::uint8_t protocol = 6) {
  const std::size_t l4 = protocol == 6 ? 20 : 8;
  Frame f(14 + 20 + l4 + payload);
  put16(f, 12, 0x0800);
  f[14] = std::byte{0x45};
  put16(f, 16, static_cast<unsigned>(20 + l4 + payload));
  f[22] = std::byte{64};
  f[23] = static_cast<std::byte>(protocol);
  for (std::size_t i = 0; i < 4; ++i) {
    f[26 + i] = std::byte{10};
    f[30 + i] = std::byte{10};
  }
  f[29] = std::byte{1};
  f[33] = std::byte{2};
  put16(f, 34, 40000);
  put16(f, 36, 5201);
  if (protocol == 6) {
    f[46] = std::byte{0x50};  // data offset 5
    put16(f, 50, checksum);
  } else {
    put16(f, 38, static_cast<unsigned>(8 + payload));
    put16(f, 40, checksum);
  }
  for (std::size_t i = 0; i < payload; ++i) f[14 + 20 + l4 + i] = static_cast<std::byte>(i * 7U);
  return f;
}

// RFC 1071: the one's-complement sum of the pseudo-header and the segment, checksum
// included, is 0xffff when the checksum is right.
bool l4_checksum_ok(const Frame& f) {
  std::uint64_t sum = 0;
  const std::size_t l4 = 14 + 20;
  for (std::size_t i = 26; i < 34; i += 2) sum += get16(f, i);
  sum += std::to_integer<unsigned>(f[23]);
  sum += f.size() - l4;
  for (std::size_t i = l4; i + 1 < f.size(); i += 2) sum += get16(f, i);
  if ((f.size() - l4) % 2 != 0) sum += std::to_integer<unsigned>(f.back()) << 8U;
  while ((sum >> 16U) != 0) sum = (sum & 0xffffU) + (sum >> 16U);
  return sum == 0xffff;
}

// What the kernel does with a NEEDS_CSUM header: the field replaced, then completed.
Frame as_written(const Frame& f, const TapFrame& tap) {
  Frame out = f;
  out[tap.checksum_at] = tap.checksum[0];
  out[tap.checksum_at + 1] = tap.checksum[1];
  return out;
}

}  // namespace

TEST_CASE("VnetHeader encodes virtio_net_hdr_v1 little-endian and decodes it back", "[core][vnet_header]") {
  VnetHeader header;
  header.flags = core::k_vnet_needs_csum;
  header.gso_type = core::k_vnet_gso_tcpv4;
  header.hdr_len = 0x0036;
  header.gso_size = 0x05a8;
  header.csum_start = 0x0022;
  header.csum_offset = 0x0010;
  header.num_buffers = 0x0102;
  std::array<std::byte, core::k_vnet_header_size> wire{};
  header.encode(wire);
  const std::array<std::byte, 12> expected{std::byte{1},    std::byte{1},    std::byte{0x36}, std::byte{0},
                                           std::byte{0xa8}, std::byte{0x05}, std::byte{0x22}, std::byte{0},
                                           std::byte{0x10}, std::byte{0},    std::byte{0x02}, std::byte{0x01}};
  CHECK(wire == expected);
  CHECK(VnetHeader::decode(wire) == header);
}

TEST_CASE("header_for_tap describes an offload VM's frame to the kernel", "[core][vnet_header]") {
  SECTION("a TCP/IPv4 super-frame becomes GSO TCPV4 with MSS = MTU - 40") {
    const Frame f = tcp4(65000 - 40, 0x1234);
    const auto out = core::header_for_tap(f, 1500);
    REQUIRE(std::holds_alternative<TapFrame>(out));
    const auto& tap = std::get<TapFrame>(out);
    CHECK(tap.header.flags == core::k_vnet_needs_csum);
    CHECK(tap.header.gso_type == core::k_vnet_gso_tcpv4);
    CHECK(tap.header.gso_size == 1460);
    CHECK(tap.header.hdr_len == 54);
    CHECK(tap.header.csum_start == 34);
    CHECK(tap.header.csum_offset == 16);
    CHECK(tap.checksum_at == 50);
    // Completing the pseudo-header sum gives the right checksum whatever the guest left there.
    Frame written = as_written(f, tap);
    REQUIRE_FALSE(core::complete_checksum(tap.header, written));
    CHECK(l4_checksum_ok(written));
  }
  SECTION("a small TCP frame gets NEEDS_CSUM only") {
    const Frame f = tcp4(100);
    const TapFrame tap = std::get<TapFrame>(core::header_for_tap(f, 1500));
    CHECK(tap.header.gso_type == core::k_vnet_gso_none);
    CHECK(tap.header.flags == core::k_vnet_needs_csum);
    Frame written = as_written(f, tap);
    REQUIRE_FALSE(core::complete_checksum(tap.header, written));
    CHECK(l4_checksum_ok(written));
  }
  SECTION("a UDP frame gets NEEDS_CSUM at offset 6; a UDP super-frame is oversize") {
    const Frame f = tcp4(33, 0, 17);
    const TapFrame tap = std::get<TapFrame>(core::header_for_tap(f, 1500));
    CHECK(tap.header.csum_offset == 6);
    Frame written = as_written(f, tap);
    REQUIRE_FALSE(core::complete_checksum(tap.header, written));
    CHECK(l4_checksum_ok(written));
    CHECK(std::get<DropReason>(core::header_for_tap(tcp4(3000, 0, 17), 1500)) == DropReason::oversize);
  }
  SECTION("non-IP frames pass plain up to MTU + 18, and are oversize beyond") {
    Frame arp(60);
    put16(arp, 12, 0x0806);
    CHECK(std::get<TapFrame>(core::header_for_tap(arp, 1500)).header == VnetHeader{});
    Frame big(1500 + 19);
    put16(big, 12, 0x0806);
    CHECK(std::get<DropReason>(core::header_for_tap(big, 1500)) == DropReason::oversize);
  }
  SECTION("IP headers that do not fit the frame are bad_vnet_hdr") {
    Frame f = tcp4(100);
    put16(f, 16, 60000);  // total length beyond the frame
    CHECK(std::get<DropReason>(core::header_for_tap(f, 1500)) == DropReason::bad_vnet_hdr);
    f = tcp4(100);
    f[14] = std::byte{0x44};  // IHL 4
    CHECK(std::get<DropReason>(core::header_for_tap(f, 1500)) == DropReason::bad_vnet_hdr);
    f = tcp4(0);
    f.resize(14 + 20 + 10);  // TCP header cut short
    put16(f, 16, 30);
    CHECK(std::get<DropReason>(core::header_for_tap(f, 1500)) == DropReason::bad_vnet_hdr);
    f = tcp4(5000);
    f[46] = std::byte{0x40};  // data offset 4 in a super-frame
    CHECK(std::get<DropReason>(core::header_for_tap(f, 1500)) == DropReason::bad_vnet_hdr);
  }
  SECTION("a fragment passes plain (no L4 header to offload)") {
    Frame f = tcp4(100);
    put16(f, 20, 0x2000);  // MF
    CHECK(std::get<TapFrame>(core::header_for_tap(f, 1500)).header == VnetHeader{});
  }
}

TEST_CASE("complete_checksum checks the kernel's header against the frame", "[core][vnet_header]") {
  Frame f = tcp4(1000);
  VnetHeader header;
  SECTION("no flags, no GSO: nothing to do") { CHECK_FALSE(core::complete_checksum(header, f)); }
  SECTION("unknown gso_type") {
    header.gso_type = 2;
    CHECK(core::complete_checksum(header, f) == DropReason::bad_vnet_hdr);
  }
  SECTION("GSO with gso_size 0") {
    header.gso_type = core::k_vnet_gso_tcpv4;
    header.hdr_len = 54;
    CHECK(core::complete_checksum(header, f) == DropReason::bad_vnet_hdr);
  }
  SECTION("hdr_len beyond the frame") {
    header.gso_type = core::k_vnet_gso_tcpv4 | core::k_vnet_gso_ecn;
    header.gso_size = 1460;
    header.hdr_len = static_cast<std::uint16_t>(f.size() + 1);
    CHECK(core::complete_checksum(header, f) == DropReason::bad_vnet_hdr);
  }
  SECTION("csum_start or csum_offset beyond the frame") {
    header.flags = core::k_vnet_needs_csum;
    header.csum_start = static_cast<std::uint16_t>(f.size());
    CHECK(core::complete_checksum(header, f) == DropReason::bad_vnet_hdr);
    header.csum_start = 34;
    header.csum_offset = static_cast<std::uint16_t>(f.size() - 35);
    CHECK(core::complete_checksum(header, f) == DropReason::bad_vnet_hdr);
    header.csum_offset = 0xffff;
    CHECK(core::complete_checksum(header, f) == DropReason::bad_vnet_hdr);
  }
}
