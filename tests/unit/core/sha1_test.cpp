// Tests of squib/core/sha1.hpp: the FIPS 180 / RFC 3174 test vectors, and UUID version 5
// against a published value.

#include <squib/core/sha1.hpp>

#include <cstdio>
#include <string>

#include "support/catch.hpp"

namespace {

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
  std::string text;
  char pair[3];
  for (std::uint8_t b : bytes) {
    std::snprintf(pair, sizeof(pair), "%02x", static_cast<unsigned>(b));
    text += pair;
  }
  return text;
}

}  // namespace

TEST_CASE("sha1 matches the RFC 3174 / FIPS 180 test vectors", "[core][sha1]") {
  using squib::core::sha1;
  // RFC 3174 §7.3 TEST1, TEST2, TEST3 (one million 'a'), TEST4 (the 64-byte pattern x 10).
  CHECK(hex(sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(hex(sha1(std::string(1'000'000, 'a'))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  std::string test4;
  for (int i = 0; i < 10; ++i) test4 += "0123456701234567012345670123456701234567012345670123456701234567";
  CHECK(hex(sha1(test4)) == "dea356a2cddd90c7a7ecedc5ebb563934f460452");
  CHECK(hex(sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");  // FIPS 180 empty message
  SECTION("fed in pieces across block boundaries") {
    squib::core::Sha1 hash;
    for (int i = 0; i < 10; ++i) {
      hash.update(std::string_view(test4).substr(static_cast<std::size_t>(i) * 64, 13));
      hash.update(std::string_view(test4).substr(static_cast<std::size_t>(i) * 64 + 13, 51));
    }
    CHECK(hex(hash.digest()) == "dea356a2cddd90c7a7ecedc5ebb563934f460452");
  }
}

TEST_CASE("uuid_v5 is RFC 9562 §5.5", "[core][sha1]") {
  // The DNS namespace (RFC 9562 §6.6) and "python.org": the value Python's uuid.uuid5 gives.
  const squib::core::Uuid dns{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                              0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  CHECK(hex(squib::core::uuid_v5(dns, "python.org")) == "886313e13b8a53729b900c9aee199e5d");
}
