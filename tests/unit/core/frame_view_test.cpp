// Tests of squib/core/frame_view.hpp: every accessor at its exact boundary, on empty,
// truncated and full frames. Frames come from VMs, so "too short" must be nullopt, never a
// read past the end (style.md items 6-7).

#include <squib/core/frame_view.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "support/catch.hpp"
#include "unit/bytes.hpp"

namespace {

using squib::core::FrameView;
using squib::core::MacAddress;
using squib::test::bytes;

constexpr std::size_t k_max_offset = std::numeric_limits<std::size_t>::max();

// A 20-byte frame: dst 02:00:00:00:00:01, src 02:00:00:00:00:02, EtherType 0x0800, then
// payload bytes 0xa0..0xa5.
std::vector<std::byte> sample_frame() {
  return bytes({0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // destination
                0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // source
                0x08, 0x00,                          // EtherType IPv4
                0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5});
}

}  // namespace

TEST_CASE("FrameView of an empty span has nothing to read", "[core][frame_view]") {
  const FrameView view{std::span<const std::byte>{}};
  CHECK(view.size() == 0);
  CHECK(view.bytes().empty());
  CHECK_FALSE(view.has_ethernet_header());
  CHECK_FALSE(view.destination());
  CHECK_FALSE(view.source());
  CHECK_FALSE(view.ether_type());
  CHECK_FALSE(view.payload());
  CHECK_FALSE(view.u8_at(0));
  CHECK_FALSE(view.u16_at(0));
  CHECK_FALSE(view.u32_at(0));
  CHECK_FALSE(view.mac_at(0));
}

TEST_CASE("FrameView header accessors on a full frame", "[core][frame_view]") {
  const auto frame = sample_frame();
  const FrameView view{frame};

  SECTION("size and bytes are the whole span") {
    CHECK(view.size() == 20);
    CHECK(view.bytes().data() == frame.data());
    CHECK(view.bytes().size() == frame.size());
  }
  SECTION("destination, source and EtherType") {
    REQUIRE(view.has_ethernet_header());
    CHECK(view.destination() == MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01}));
    CHECK(view.source() == MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x02}));
    CHECK(view.ether_type() == std::uint16_t{0x0800});
    CHECK(view.ether_type() == static_cast<std::uint16_t>(squib::core::EtherType::ipv4));
  }
  SECTION("payload is the bytes after the 14-byte header, in place") {
    const auto payload = view.payload();
    REQUIRE(payload);
    CHECK(payload->data() == frame.data() + 14);
    CHECK(squib::test::to_vector(*payload) == bytes({0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5}));
  }
}

TEST_CASE("FrameView header accessors on truncated frames", "[core][frame_view]") {
  auto frame = sample_frame();

  SECTION("5 bytes: not even a destination") {
    const FrameView view{std::span<const std::byte>(frame).first(5)};
    CHECK_FALSE(view.has_ethernet_header());
    CHECK_FALSE(view.destination());
    CHECK_FALSE(view.source());
    CHECK_FALSE(view.ether_type());
    CHECK_FALSE(view.payload());
  }
  SECTION("6 bytes: destination only") {
    const FrameView view{std::span<const std::byte>(frame).first(6)};
    CHECK(view.destination() == MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01}));
    CHECK_FALSE(view.source());
  }
  SECTION("12 bytes: both addresses, no EtherType") {
    const FrameView view{std::span<const std::byte>(frame).first(12)};
    CHECK(view.source() == MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x02}));
    CHECK_FALSE(view.ether_type());
    CHECK_FALSE(view.has_ethernet_header());
  }
  SECTION("13 bytes (a runt): half an EtherType is none") {
    const FrameView view{std::span<const std::byte>(frame).first(13)};
    CHECK(view.source());
    CHECK_FALSE(view.ether_type());
    CHECK_FALSE(view.has_ethernet_header());
    CHECK_FALSE(view.payload());
  }
  SECTION("14 bytes: a header and an empty payload") {
    const FrameView view{std::span<const std::byte>(frame).first(14)};
    CHECK(view.has_ethernet_header());
    CHECK(view.ether_type() == std::uint16_t{0x0800});
    const auto payload = view.payload();
    REQUIRE(payload);
    CHECK(payload->empty());
  }
}

TEST_CASE("FrameView checked reads stop exactly at the end", "[core][frame_view]") {
  const auto frame = bytes({0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88});
  const FrameView view{frame};  // 8 bytes

  SECTION("u8_at") {
    CHECK(view.u8_at(0) == std::uint8_t{0x11});
    CHECK(view.u8_at(7) == std::uint8_t{0x88});
    CHECK_FALSE(view.u8_at(8));
    CHECK_FALSE(view.u8_at(k_max_offset));
  }
  SECTION("u16_at is big-endian") {
    CHECK(view.u16_at(0) == std::uint16_t{0x1122});
    CHECK(view.u16_at(6) == std::uint16_t{0x7788});
    CHECK_FALSE(view.u16_at(7));
    CHECK_FALSE(view.u16_at(8));
    CHECK_FALSE(view.u16_at(9));
    CHECK_FALSE(view.u16_at(k_max_offset));
    CHECK_FALSE(view.u16_at(k_max_offset - 1));
  }
  SECTION("u32_at is big-endian") {
    CHECK(view.u32_at(0) == std::uint32_t{0x11223344});
    CHECK(view.u32_at(4) == std::uint32_t{0x55667788});
    CHECK_FALSE(view.u32_at(5));
    CHECK_FALSE(view.u32_at(8));
    CHECK_FALSE(view.u32_at(k_max_offset));
    CHECK_FALSE(view.u32_at(k_max_offset - 3));
  }
  SECTION("u32_at of 0xffffffff does not overflow") {
    const auto ones = bytes({0xff, 0xff, 0xff, 0xff});
    CHECK(FrameView{ones}.u32_at(0) == std::uint32_t{0xffffffff});
  }
  SECTION("mac_at") {
    CHECK(view.mac_at(0) == MacAddress({0x11, 0x22, 0x33, 0x44, 0x55, 0x66}));
    CHECK(view.mac_at(2) == MacAddress({0x33, 0x44, 0x55, 0x66, 0x77, 0x88}));
    CHECK_FALSE(view.mac_at(3));
    CHECK_FALSE(view.mac_at(8));
    CHECK_FALSE(view.mac_at(k_max_offset));
    CHECK_FALSE(view.mac_at(k_max_offset - 5));
  }
}

TEST_CASE("is_vfkit_handshake matches exactly the 4 bytes VFKT", "[core][frame_view]") {
  using squib::core::is_vfkit_handshake;
  using squib::test::bytes_of;
  CHECK(is_vfkit_handshake(bytes_of("VFKT")));
  CHECK_FALSE(is_vfkit_handshake(bytes_of("VFK")));
  CHECK_FALSE(is_vfkit_handshake(bytes_of("VFKTX")));
  CHECK_FALSE(is_vfkit_handshake(bytes_of("vfkt")));
  CHECK_FALSE(is_vfkit_handshake(bytes_of("VFKS")));
  CHECK_FALSE(is_vfkit_handshake({}));
}
