// Tests of squib/proto/pcapng.hpp: the blocks byte by byte against the pcapng draft's layout
// (draft-ietf-opsawg-pcapng §4.1-4.3, §4.6), and summarize() reading back what encode() wrote.

#include <squib/proto/pcapng.hpp>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "support/catch.hpp"

namespace {

namespace pcapng = squib::proto::pcapng;

template <class T>
T at(std::span<const std::byte> bytes, std::size_t offset) {
  REQUIRE(offset + sizeof(T) <= bytes.size());
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

std::vector<std::byte> bytes_of(std::size_t n, std::uint8_t seed) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((seed + i) & 0xffU);
  return out;
}

}  // namespace

TEST_CASE("pcapng: file_header is an SHB and an Ethernet IDB with snaplen and if_name", "[unit][proto][pcapng]") {
  const auto header = pcapng::file_header(1500, "squib:vm1");
  const std::span<const std::byte> bytes(header);
  REQUIRE(at<std::uint32_t>(bytes, 0) == pcapng::k_section_header);
  const auto shb = at<std::uint32_t>(bytes, 4);
  CHECK(shb == 28);
  CHECK(at<std::uint32_t>(bytes, 8) == pcapng::k_byte_order_magic);
  CHECK(at<std::uint16_t>(bytes, 12) == 1);
  CHECK(at<std::uint16_t>(bytes, 14) == 0);
  CHECK(at<std::uint32_t>(bytes, shb - 4) == shb);
  const auto idb = bytes.subspan(shb);
  CHECK(at<std::uint32_t>(idb, 0) == pcapng::k_interface_description);
  const auto idb_length = at<std::uint32_t>(idb, 4);
  CHECK(idb_length == idb.size());
  CHECK(at<std::uint16_t>(idb, 8) == 1);  // LINKTYPE_ETHERNET
  CHECK(at<std::uint32_t>(idb, 12) == 1500);
  CHECK(at<std::uint16_t>(idb, 16) == pcapng::k_if_name);
  CHECK(at<std::uint16_t>(idb, 18) == 9);
  CHECK(std::string(reinterpret_cast<const char*>(idb.data() + 20), 9) == "squib:vm1");
  CHECK(at<std::uint32_t>(idb, 32) == 0);  // opt_endofopt after the padded name
  CHECK(at<std::uint32_t>(idb, idb_length - 4) == idb_length);
}

TEST_CASE("pcapng: an EPB carries the frame, lengths, direction, drop count and comment", "[unit][proto][pcapng]") {
  const auto frame = bytes_of(61, 7);  // odd length: padded to 64
  std::vector<std::byte> out(pcapng::max_enhanced_packet_size(61));

  SECTION("all options") {
    pcapng::EnhancedPacket packet{0x0000000112345678ULL,       frame, 1500,
                                  pcapng::Direction::outbound, 9,     "dropped by squib-netd: spoofed_mac"};
    const std::size_t size = pcapng::encode(out, packet);
    REQUIRE(size > 0);
    REQUIRE(size % 4 == 0);
    const std::span<const std::byte> block(out.data(), size);
    CHECK(at<std::uint32_t>(block, 0) == pcapng::k_enhanced_packet);
    CHECK(at<std::uint32_t>(block, 4) == size);
    CHECK(at<std::uint32_t>(block, 8) == 0);
    CHECK(at<std::uint32_t>(block, 12) == 1);  // timestamp high
    CHECK(at<std::uint32_t>(block, 16) == 0x12345678);
    CHECK(at<std::uint32_t>(block, 20) == 61);
    CHECK(at<std::uint32_t>(block, 24) == 1500);
    CHECK(std::memcmp(block.data() + 28, frame.data(), 61) == 0);
    CHECK(at<std::uint16_t>(block, 92) == pcapng::k_epb_flags);
    CHECK(at<std::uint32_t>(block, 96) == 2);
    CHECK(at<std::uint16_t>(block, 100) == pcapng::k_epb_dropcount);
    CHECK(at<std::uint64_t>(block, 104) == 9);
    CHECK(at<std::uint16_t>(block, 112) == pcapng::k_opt_comment);
    CHECK(at<std::uint16_t>(block, 114) == 34);
    CHECK(at<std::uint32_t>(block, size - 4) == size);
    const auto summary = pcapng::summarize(block);
    REQUIRE(summary.has_value());
    CHECK(summary->type == pcapng::k_enhanced_packet);
    CHECK(summary->dropcount == 9);
  }
  SECTION("no drop count, no comment: flags only") {
    const std::size_t size = pcapng::encode(out, {1, frame, 61, pcapng::Direction::inbound, 0, {}});
    CHECK(size == 28 + 64 + 8 + 4 + 4);
    CHECK(pcapng::summarize(std::span<const std::byte>(out.data(), size))->dropcount == 0);
  }
  SECTION("a buffer too small is refused, never overrun") {
    std::vector<std::byte> small(50);
    CHECK(pcapng::encode(small, {1, frame, 61, pcapng::Direction::inbound, 0, {}}) == 0);
  }
}

TEST_CASE("pcapng: an ISB carries received, lost and delivered", "[unit][proto][pcapng]") {
  std::array<std::byte, pcapng::k_interface_statistics_size> out{};
  const std::size_t size = pcapng::encode(out, pcapng::InterfaceStatistics{5, 100, 40, 60});
  REQUIRE(size == 64);
  const auto summary = pcapng::summarize(std::span<const std::byte>(out.data(), size));
  REQUIRE(summary.has_value());
  CHECK(summary->type == pcapng::k_interface_statistics);
  CHECK(summary->statistics.received == 100);
  CHECK(summary->statistics.lost == 40);
  CHECK(summary->statistics.delivered == 60);
}

TEST_CASE("pcapng: summarize refuses blocks whose lengths disagree", "[unit][proto][pcapng]") {
  std::array<std::byte, pcapng::k_interface_statistics_size> out{};
  const std::size_t size = pcapng::encode(out, pcapng::InterfaceStatistics{});
  CHECK_FALSE(pcapng::summarize(std::span<const std::byte>(out.data(), size - 4)).has_value());
  CHECK_FALSE(pcapng::summarize(std::span<const std::byte>(out.data(), 6)).has_value());
  out[4] = std::byte{0xff};
  CHECK_FALSE(pcapng::summarize(std::span<const std::byte>(out.data(), size)).has_value());
}
