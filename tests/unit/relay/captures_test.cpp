// Tests of squib/relay/captures.hpp and capture_session.hpp over a real AF_UNIX SOCK_SEQPACKET
// socketpair and a real libuv loop: the filter, one record per datagram, losses counted when
// the client's socket is full and reported in the next record and the final statistics,
// the client's shutdown answered with statistics and EOF, a closed client freed. Every
// test ends with uv_loop_close() == 0 (style.md item 11).

#include <squib/relay/captures.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include <uv.h>

#include <squib/platform/socket.hpp>

#include "support/catch.hpp"
#include "unit/frames.hpp"

namespace {

namespace pcapng = squib::proto::pcapng;
using squib::core::DropReason;
using squib::relay::CaptureFilter;
using squib::relay::Captures;
using squib::test::batch_of;
using squib::test::Bytes;
using squib::test::frame_of;

struct Rig {
  uv_loop_t loop{};
  Captures captures;
  int client = -1;
  int daemon_fd = -1;  // for the test to shrink its send buffer

  explicit Rig(const CaptureFilter& filter) {
    REQUIRE(uv_loop_init(&loop) == 0);
    auto ends = squib::platform::open_socketpair(SOCK_SEQPACKET, squib::platform::Blocking::non_blocking,
                                                 squib::platform::Blocking::non_blocking);
    REQUIRE(ends.ok());
    daemon_fd = ends.value().first.get();
    client = ends.value().second.release();
    REQUIRE(captures.open(&loop, std::move(ends.value().first), filter, 1518).ok());
  }
  ~Rig() {
    captures.clear();
    if (client >= 0) ::close(client);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // Every record waiting on the client's end (non-blocking), each summarized.
  std::vector<pcapng::RecordSummary> records(std::vector<Bytes>* raw = nullptr) const {
    std::vector<pcapng::RecordSummary> out;
    Bytes buffer(pcapng::max_enhanced_packet_size(1518));
    while (true) {
      const ssize_t n = ::recv(client, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      const std::span<const std::byte> record(buffer.data(), static_cast<std::size_t>(n));
      const auto summary = pcapng::summarize(record);
      REQUIRE(summary.has_value());
      out.push_back(*summary);
      if (raw != nullptr) raw->emplace_back(record.begin(), record.end());
    }
    return out;
  }
  void turn() {
    for (int i = 0; i < 10; ++i) uv_run(&loop, UV_RUN_NOWAIT);
  }
};

std::uint32_t flags_of(const Bytes& epb) {
  // Single option here: epb_flags right after the padded data.
  std::uint32_t captured = 0;
  std::memcpy(&captured, epb.data() + 20, 4);
  std::uint32_t flags = 0;
  std::memcpy(&flags, epb.data() + 28 + ((captured + 3U) & ~3U) + 4, 4);
  return flags;
}

}  // namespace

TEST_CASE("captures: the direction filter and one EPB per frame, in order", "[unit][relay][capture]") {
  CaptureFilter filter;
  filter.from_vm = false;  // `in` only
  Rig rig(filter);
  CHECK(rig.captures.active());
  const std::vector<Bytes> frames{frame_of(60, 1), frame_of(100, 2), frame_of(1514, 3)};
  rig.captures.record(batch_of(frames), pcapng::Direction::outbound);
  rig.captures.record(batch_of(frames), pcapng::Direction::inbound);
  std::vector<Bytes> raw;
  const auto got = rig.records(&raw);
  REQUIRE(got.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(got[i].type == pcapng::k_enhanced_packet);
    CHECK(flags_of(raw[i]) == 1);
    CHECK(std::memcmp(raw[i].data() + 28, frames[i].data(), frames[i].size()) == 0);
  }
}

TEST_CASE("captures: guard-dropped frames only with `dropped`", "[unit][relay][capture]") {
  const std::vector<Bytes> frames{frame_of(60, 1), frame_of(60, 2)};
  const std::array<std::optional<DropReason>, 2> verdicts{DropReason::spoofed_ip, std::nullopt};
  for (const bool dropped : {false, true}) {
    CaptureFilter filter;
    filter.dropped = dropped;
    Rig rig(filter);
    rig.captures.record(batch_of(frames), pcapng::Direction::outbound, verdicts);
    CHECK(rig.records().size() == (dropped ? 2U : 1U));
  }
}

TEST_CASE("captures: a full client socket loses records, counted and reported, never blocking",
          "[unit][relay][capture]") {
  Rig rig(CaptureFilter{});
  const int small = 4096;  // the kernel's minimum send buffer is about this (socket(7))
  REQUIRE(::setsockopt(rig.daemon_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  std::vector<Bytes> frames;
  for (std::uint8_t i = 0; i < 32; ++i) frames.push_back(frame_of(1000, i));
  constexpr int k_batches = 20;  // 640 records of ~1 KiB: far beyond the buffer
  for (int i = 0; i < k_batches; ++i) rig.captures.record(batch_of(frames), pcapng::Direction::inbound);
  const auto first = rig.records();
  REQUIRE(!first.empty());
  REQUIRE(first.size() < 32U * k_batches);
  const std::uint64_t lost = 32U * k_batches - first.size();
  std::uint64_t reported = 0;
  for (const auto& record : first) reported += record.dropcount;
  // Drained: the next record carries what was lost since the last one delivered.
  const std::vector<Bytes> one{frame_of(60, 9)};
  rig.captures.record(batch_of(one), pcapng::Direction::inbound);
  const auto next = rig.records();
  REQUIRE(next.size() == 1);
  CHECK(reported + next[0].dropcount == lost);

  // The client shuts down its end: statistics, then EOF, and the session is freed.
  REQUIRE(::shutdown(rig.client, SHUT_WR) == 0);
  rig.turn();
  const auto last = rig.records();
  REQUIRE(last.size() == 1);
  CHECK(last[0].type == pcapng::k_interface_statistics);
  CHECK(last[0].statistics.received == 32U * k_batches + 1);
  CHECK(last[0].statistics.lost == lost);
  CHECK(last[0].statistics.delivered == first.size() + 1);
  std::byte eof{};
  CHECK(::recv(rig.client, &eof, 1, MSG_DONTWAIT) == 0);
  CHECK_FALSE(rig.captures.active());
}

TEST_CASE("captures: a client that closes its end is freed", "[unit][relay][capture]") {
  Rig rig(CaptureFilter{});
  ::close(rig.client);
  rig.client = -1;
  rig.turn();
  CHECK_FALSE(rig.captures.active());
  // Recording with no session left costs nothing and sends nothing.
  const std::vector<Bytes> frames{frame_of(60, 1)};
  rig.captures.record(batch_of(frames), pcapng::Direction::inbound);
}
