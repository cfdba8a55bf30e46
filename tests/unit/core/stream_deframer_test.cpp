// Tests of squib/core/stream_deframer.hpp: QEMU stream framing (4-byte big-endian length,
// then the frame) split out of arbitrary read boundaries, with the length prefix treated as
// peer data (0 or > max is bad_length, never an assert or an over-read).

#include <squib/core/stream_deframer.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "support/catch.hpp"
#include "unit/bytes.hpp"

namespace {

using squib::core::encode_stream_prefix;
using squib::core::k_stream_length_prefix;
using squib::core::StreamDeframer;
using Status = StreamDeframer::Status;
using squib::test::bytes;
using squib::test::to_vector;

// Prefix + payload, as QEMU writes one frame to its stream socket.
std::vector<std::byte> framed(const std::vector<std::byte>& payload) {
  std::array<std::byte, k_stream_length_prefix> prefix{};
  encode_stream_prefix(static_cast<std::uint32_t>(payload.size()), prefix);
  std::vector<std::byte> out(prefix.begin(), prefix.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// A payload of `n` bytes whose values identify their position and frame.
std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 7 + seed) & 0xffU);
  return out;
}

// Copies `data` into the deframer's writable area and commits it (the owner's read()).
void feed(StreamDeframer& deframer, std::span<const std::byte> data) {
  auto room = deframer.writable();
  REQUIRE(room.size() >= data.size());
  std::memcpy(room.data(), data.data(), data.size());
  deframer.commit(data.size());
}

}  // namespace

TEST_CASE("encode_stream_prefix writes a big-endian length", "[core][stream_deframer]") {
  std::array<std::byte, 4> out{};
  SECTION("0x01020304") {
    encode_stream_prefix(0x01020304, out);
    CHECK(to_vector(out) == bytes({0x01, 0x02, 0x03, 0x04}));
  }
  SECTION("1514 (a full MTU 1500 frame)") {
    encode_stream_prefix(1514, out);
    CHECK(to_vector(out) == bytes({0x00, 0x00, 0x05, 0xea}));
  }
  SECTION("0 and 0xffffffff") {
    encode_stream_prefix(0, out);
    CHECK(to_vector(out) == bytes({0x00, 0x00, 0x00, 0x00}));
    encode_stream_prefix(0xffffffff, out);
    CHECK(to_vector(out) == bytes({0xff, 0xff, 0xff, 0xff}));
  }
}

TEST_CASE("StreamDeframer starts empty", "[core][stream_deframer]") {
  StreamDeframer deframer(64, 60);
  CHECK(deframer.buffered() == 0);
  CHECK(deframer.writable().size() == 64);
  CHECK(deframer.next().status == Status::need_more);
}

TEST_CASE("StreamDeframer returns one whole frame in one commit", "[core][stream_deframer]") {
  StreamDeframer deframer(64, 60);
  const auto payload = bytes({0xde, 0xad, 0xbe, 0xef, 0x01});
  feed(deframer, framed(payload));
  const auto base = deframer.writable().data() - 9;  // start of the buffer

  const auto next = deframer.next();
  REQUIRE(next.status == Status::frame);
  CHECK(next.length == 5);
  CHECK(to_vector(next.frame) == payload);
  CHECK(next.frame.data() == base + 4);  // a span into the buffer, no copy
  CHECK(deframer.buffered() == 0);
  CHECK(deframer.next().status == Status::need_more);
}

TEST_CASE("StreamDeframer reassembles frames split at any byte", "[core][stream_deframer]") {
  const auto payload = pattern(20, 1);
  const auto stream = framed(payload);

  SECTION("byte by byte: need_more until the last byte") {
    StreamDeframer deframer(64, 60);
    for (std::size_t i = 0; i + 1 < stream.size(); ++i) {
      feed(deframer, std::span(stream).subspan(i, 1));
      INFO("after " << i + 1 << " bytes");
      REQUIRE(deframer.next().status == Status::need_more);
      CHECK(deframer.buffered() == i + 1);
    }
    feed(deframer, std::span(stream).last(1));
    const auto next = deframer.next();
    REQUIRE(next.status == Status::frame);
    CHECK(to_vector(next.frame) == payload);
  }
  SECTION("every split point of the prefix and payload into two commits") {
    for (std::size_t split = 1; split < stream.size(); ++split) {
      INFO("split at " << split);
      StreamDeframer deframer(64, 60);
      feed(deframer, std::span(stream).first(split));
      REQUIRE(deframer.next().status == Status::need_more);
      feed(deframer, std::span(stream).subspan(split));
      const auto next = deframer.next();
      REQUIRE(next.status == Status::frame);
      CHECK(to_vector(next.frame) == payload);
      CHECK(deframer.next().status == Status::need_more);
    }
  }
  SECTION("prefix in two halves, then the payload") {
    StreamDeframer deframer(64, 60);
    feed(deframer, std::span(stream).first(2));
    CHECK(deframer.next().status == Status::need_more);
    feed(deframer, std::span(stream).subspan(2, 2));
    CHECK(deframer.next().status == Status::need_more);  // a prefix alone is not a frame
    feed(deframer, std::span(stream).subspan(4));
    CHECK(to_vector(deframer.next().frame) == payload);
  }
}

TEST_CASE("StreamDeframer returns several frames from one commit, in order", "[core][stream_deframer]") {
  StreamDeframer deframer(256, 60);
  const auto a = pattern(1, 10);
  const auto b = pattern(60, 20);  // exactly max_frame
  const auto c = pattern(14, 30);
  std::vector<std::byte> stream;
  for (const auto* p : {&a, &b, &c}) {
    const auto f = framed(*p);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  const auto partial = framed(pattern(30, 40));
  stream.insert(stream.end(), partial.begin(), partial.begin() + 7);  // prefix + 3 bytes
  feed(deframer, stream);

  auto next = deframer.next();
  REQUIRE(next.status == Status::frame);
  CHECK(to_vector(next.frame) == a);
  next = deframer.next();
  REQUIRE(next.status == Status::frame);
  CHECK(next.length == 60);
  CHECK(to_vector(next.frame) == b);
  next = deframer.next();
  REQUIRE(next.status == Status::frame);
  CHECK(to_vector(next.frame) == c);
  CHECK(deframer.next().status == Status::need_more);
  CHECK(deframer.buffered() == 7);
}

TEST_CASE("StreamDeframer reports a bad length prefix", "[core][stream_deframer]") {
  StreamDeframer deframer(128, 100);

  SECTION("length 0") {
    feed(deframer, bytes({0x00, 0x00, 0x00, 0x00}));
    const auto next = deframer.next();
    CHECK(next.status == Status::bad_length);
    CHECK(next.length == 0);
    CHECK(next.frame.empty());
  }
  SECTION("max_frame + 1, reported from the prefix alone") {
    feed(deframer, bytes({0x00, 0x00, 0x00, 101}));
    const auto next = deframer.next();
    CHECK(next.status == Status::bad_length);
    CHECK(next.length == 101);
  }
  SECTION("0xffffffff (socket_vmnet's heap overflow input)") {
    feed(deframer, bytes({0xff, 0xff, 0xff, 0xff, 0x00, 0x01}));
    const auto next = deframer.next();
    CHECK(next.status == Status::bad_length);
    CHECK(next.length == 0xffffffff);
  }
  SECTION("after a good frame") {
    auto stream = framed(pattern(3, 1));
    const auto bad = bytes({0x00, 0x01, 0x00, 0x00});  // 65536
    stream.insert(stream.end(), bad.begin(), bad.end());
    feed(deframer, stream);
    CHECK(deframer.next().status == Status::frame);
    const auto next = deframer.next();
    CHECK(next.status == Status::bad_length);
    CHECK(next.length == 65536);
  }
  SECTION("is sticky until reset(), which empties the buffer") {
    feed(deframer, bytes({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x42}));
    CHECK(deframer.next().status == Status::bad_length);
    CHECK(deframer.next().status == Status::bad_length);
    deframer.reset();
    CHECK(deframer.buffered() == 0);
    CHECK(deframer.writable().size() == 128);
    feed(deframer, framed(bytes({0x42})));
    const auto next = deframer.next();
    REQUIRE(next.status == Status::frame);
    CHECK(to_vector(next.frame) == bytes({0x42}));
  }
}

TEST_CASE("StreamDeframer::compact keeps the partial tail", "[core][stream_deframer]") {
  StreamDeframer deframer(40, 36);
  const auto first = pattern(10, 1);
  const auto second = pattern(30, 2);
  auto stream = framed(first);
  const auto second_framed = framed(second);
  stream.insert(stream.end(), second_framed.begin(), second_framed.begin() + 6);  // prefix + 2
  feed(deframer, stream);  // 14 + 6 = 20 of 40 bytes

  REQUIRE(deframer.next().status == Status::frame);
  REQUIRE(deframer.next().status == Status::need_more);
  CHECK(deframer.buffered() == 6);
  CHECK(deframer.writable().size() == 20);  // too little for the remaining 28 bytes

  deframer.compact();
  CHECK(deframer.buffered() == 6);
  CHECK(deframer.writable().size() == 34);
  CHECK(deframer.next().status == Status::need_more);

  feed(deframer, std::span(second_framed).subspan(6));
  const auto next = deframer.next();
  REQUIRE(next.status == Status::frame);
  CHECK(to_vector(next.frame) == second);

  SECTION("compact with nothing consumed changes nothing") {
    StreamDeframer fresh(40, 36);
    feed(fresh, bytes({0x00, 0x00}));
    fresh.compact();
    CHECK(fresh.buffered() == 2);
    CHECK(fresh.writable().size() == 38);
  }
  SECTION("compact after consuming everything frees the whole buffer") {
    deframer.compact();
    CHECK(deframer.buffered() == 0);
    CHECK(deframer.writable().size() == 40);
  }
}

TEST_CASE("StreamDeframer takes a maximal frame that fills the buffer exactly", "[core][stream_deframer]") {
  constexpr std::size_t k_max = 1518;
  StreamDeframer deframer(k_max + k_stream_length_prefix, k_max);
  const auto payload = pattern(k_max, 9);

  SECTION("from an empty buffer") {
    feed(deframer, framed(payload));
    CHECK(deframer.writable().empty());
    const auto next = deframer.next();
    REQUIRE(next.status == Status::frame);
    CHECK(next.length == k_max);
    CHECK(to_vector(next.frame) == payload);
    deframer.compact();
    CHECK(deframer.writable().size() == k_max + k_stream_length_prefix);
  }
  SECTION("after a small frame, once the owner compacts") {
    auto stream = framed(pattern(2, 1));
    const auto big = framed(payload);
    stream.insert(stream.end(), big.begin(), big.begin() + 100);
    feed(deframer, stream);
    REQUIRE(deframer.next().status == Status::frame);
    REQUIRE(deframer.next().status == Status::need_more);
    deframer.compact();
    REQUIRE(deframer.writable().size() == big.size() - 100);
    feed(deframer, std::span(big).subspan(100));
    const auto next = deframer.next();
    REQUIRE(next.status == Status::frame);
    CHECK(to_vector(next.frame) == payload);
  }
  SECTION("max_frame + 1 is bad_length even though the buffer could never hold it") {
    feed(deframer, bytes({0x00, 0x00, 0x05, 0xef}));  // 1519
    CHECK(deframer.next().status == Status::bad_length);
  }
}
