// Tests of squib/backend/stream_channel.hpp on a real socketpair (the link to passt): the
// exact bytes it writes (4-byte big-endian length, then the frame), the frames it hands on
// from the peer, and its error paths — runts, a bad length prefix, a closed peer, and a peer
// that stops reading (a partial write is finished, never torn; later batches are dropped
// and counted, never queued without bound).

#include <squib/backend/stream_channel.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "support/catch.hpp"
#include "unit/frames.hpp"

namespace {

using squib::test::Bytes;
using squib::test::frame_of;
using squib::test::batch_of;
using squib::core::DropReason;

Bytes framed(const Bytes& frame) {
  const auto n = static_cast<std::uint32_t>(frame.size());
  Bytes out = {std::byte(n >> 24U), std::byte((n >> 16U) & 0xffU), std::byte((n >> 8U) & 0xffU), std::byte(n & 0xffU)};
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}

struct Collect final : squib::core::FrameSink {
  std::vector<Bytes> frames;
  std::size_t batches = 0;
  void consume(const squib::core::FrameBatch& batch) override {
    ++batches;
    for (const auto& frame : batch.view()) frames.emplace_back(frame.begin(), frame.end());
  }
};

// A loop, a socketpair (ours non-blocking, the peer's blocking) and a started channel.
struct Link {
  uv_loop_t loop{};
  int peer = -1;
  Collect to_vm;
  squib::core::AttachmentStats stats;
  std::optional<std::string> broken;
  std::unique_ptr<squib::backend::StreamChannel> channel;

  explicit Link(std::size_t max_frame = 1518) {
    REQUIRE(uv_loop_init(&loop) == 0);
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
    peer = pair[1];
    channel = std::make_unique<squib::backend::StreamChannel>(&loop, squib::core::Fd(pair[0]), max_frame, to_vm, stats,
                                                               [this](const std::string& why) { broken = why; });
    REQUIRE(channel->start().ok());
  }
  ~Link() {
    channel.reset();
    if (peer >= 0) ::close(peer);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void peer_writes(const Bytes& bytes) const {
    REQUIRE(::send(peer, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // Everything the peer can read right now.
  Bytes peer_reads() const {
    Bytes out;
    std::byte buffer[65536];
    for (;;) {
      const ssize_t n = ::recv(peer, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n <= 0) break;
      out.insert(out.end(), buffer, buffer + n);
    }
    return out;
  }
  void turn() { uv_run(&loop, UV_RUN_NOWAIT); }
};

}  // namespace

TEST_CASE("StreamChannel writes each frame after its 4-byte big-endian length, in one batch", "[backend]") {
  Link link;
  const std::vector<Bytes> frames = {frame_of(60, 1), frame_of(1514, 2), frame_of(14, 3)};
  link.channel->send(batch_of(frames));
  Bytes expected;
  for (const auto& frame : frames) {
    const auto one = framed(frame);
    expected.insert(expected.end(), one.begin(), one.end());
  }
  CHECK(link.peer_reads() == expected);
  CHECK(link.stats.total_drops() == 0);
}

TEST_CASE("StreamChannel hands on the peer's frames, split anywhere, and drops runts", "[backend]") {
  Link link;
  Bytes stream;
  for (const auto& part : {framed(frame_of(64, 7)), framed(frame_of(10, 8)), framed(frame_of(1500, 9))}) {
    stream.insert(stream.end(), part.begin(), part.end());
  }
  // Two writes that cut the middle frame's prefix in half.
  const std::size_t cut = 64 + 4 + 2;
  link.peer_writes(Bytes(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(cut)));
  link.turn();
  CHECK(link.to_vm.frames == std::vector<Bytes>{frame_of(64, 7)});
  link.peer_writes(Bytes(stream.begin() + static_cast<std::ptrdiff_t>(cut), stream.end()));
  link.turn();
  CHECK(link.to_vm.frames == std::vector<Bytes>{frame_of(64, 7), frame_of(1500, 9)});
  CHECK(link.stats.dropped(DropReason::runt) == 1);
  CHECK_FALSE(link.broken);
}

TEST_CASE("StreamChannel: a bad length prefix or a closed peer breaks the link, once", "[backend]") {
  SECTION("a length beyond the largest frame") {
    Link link;
    link.peer_writes(framed(frame_of(2000, 1)));
    link.turn();
    REQUIRE(link.broken);
    CHECK(*link.broken == "bad frame length 2000 in stream (max 1518)");
    CHECK(link.stats.errors == 1);
    CHECK(link.to_vm.frames.empty());
    // Afterwards sends are dropped as backend_down, not written.
    link.channel->send(batch_of({frame_of(60, 1)}));
    CHECK(link.stats.dropped(DropReason::backend_down) == 1);
  }
  SECTION("the peer closes") {
    Link link;
    ::close(link.peer);
    link.peer = -1;
    link.turn();
    REQUIRE(link.broken);
    CHECK(*link.broken == "peer closed the stream");
  }
}

TEST_CASE("StreamChannel: a peer that stops reading gets whole frames only, the rest is counted", "[backend]") {
  Link link;
  // The peer's receive buffer as small as the kernel allows, so the condition comes soon;
  // the test then drives it — sends until the first backend_full, bounded — rather than
  // assuming how much any buffer holds.
  const int small = 4096;
  REQUIRE(::setsockopt(link.peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  std::size_t sent_frames = 0;
  for (int round = 0; round < 100'000 && link.stats.dropped(DropReason::backend_full) == 0; ++round) {
    link.channel->send(batch_of({frame_of(1500, static_cast<std::uint8_t>(round))}));
    ++sent_frames;
  }
  REQUIRE(link.stats.dropped(DropReason::backend_full) > 0);
  // The peer drains everything while the loop flushes the pending tail.
  // Once the peer has read, the socket is writable at once and a loop turn flushes the rest:
  // three turns in a row with nothing new means everything arrived.
  Bytes received;
  for (int idle = 0; idle < 3;) {
    const auto chunk = link.peer_reads();
    idle = chunk.empty() ? idle + 1 : 0;
    received.insert(received.end(), chunk.begin(), chunk.end());
    link.turn();
  }
  // Whole frames only, each intact, in order: a multiple of (4 + 1500) bytes.
  REQUIRE(received.size() % (4 + 1500) == 0);
  const std::size_t delivered = received.size() / (4 + 1500);
  CHECK(delivered + link.stats.dropped(DropReason::backend_full) == sent_frames);
  for (std::size_t i = 0; i < delivered; ++i) {
    const Bytes one(received.begin() + static_cast<std::ptrdiff_t>(i * 1504),
                    received.begin() + static_cast<std::ptrdiff_t>((i + 1) * 1504));
    CHECK(one == framed(frame_of(1500, static_cast<std::uint8_t>(i))));
  }
  CHECK_FALSE(link.broken);
}
