// Tests of squib/backend/datagram_channel.hpp on a real SOCK_DGRAM socketpair (the vfkit
// link to gvproxy or a custom child): one frame per datagram both ways, exact bytes; runts
// and oversized datagrams from the child dropped and counted; a peer that is gone breaks the
// link once and later sends count as backend_down; a peer that stops reading costs counted
// backend_full drops, never a blocked loop.

#include <squib/backend/datagram_channel.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
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
using squib::test::Collect;
using squib::core::DropReason;
using squib::core::k_batch_size;

// A loop, a SOCK_DGRAM socketpair (both ends non-blocking) and a started channel on one
// end; the test plays the child on the other. `our_sndbuf`, when set, is the channel end's
// SO_SNDBUF, set before the channel takes it.
struct Link {
  uv_loop_t loop{};
  int peer = -1;
  Collect to_vm;
  squib::core::AttachmentStats stats;
  std::vector<std::string> broken;
  std::unique_ptr<squib::backend::DatagramChannel> channel;

  explicit Link(std::size_t max_frame = 1518, std::optional<int> our_sndbuf = std::nullopt) {
    REQUIRE(uv_loop_init(&loop) == 0);
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
    peer = pair[1];
    if (our_sndbuf) REQUIRE(::setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &*our_sndbuf, sizeof *our_sndbuf) == 0);
    channel = std::make_unique<squib::backend::DatagramChannel>(
        &loop, squib::core::Fd(pair[0]), max_frame, to_vm, stats,
        [this](const std::string& why) { broken.push_back(why); });
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

  void peer_sends(const Bytes& datagram) const {
    REQUIRE(::send(peer, datagram.data(), datagram.size(), 0) == static_cast<ssize_t>(datagram.size()));
  }
  // Every datagram the peer can read right now.
  std::vector<Bytes> peer_receives() const {
    std::vector<Bytes> out;
    std::byte buffer[70'000];
    for (;;) {
      const ssize_t n = ::recv(peer, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buffer, buffer + n);
    }
    return out;
  }
  void turn() { uv_run(&loop, UV_RUN_NOWAIT); }
};

}  // namespace

TEST_CASE("DatagramChannel sends each frame of a batch as one datagram, exactly", "[backend][datagram_channel]") {
  Link link;
  const std::vector<Bytes> frames = {frame_of(60, 1), frame_of(1518, 2), frame_of(14, 3)};
  link.channel->send(batch_of(frames));
  CHECK(link.peer_receives() == frames);
  CHECK(link.stats.from_vm.frames == 3);
  CHECK(link.stats.from_vm.bytes == 60 + 1518 + 14);
  CHECK(link.stats.from_vm.batches == 1);
  CHECK(link.stats.total_drops() == 0);
  CHECK(link.broken.empty());
}

TEST_CASE("DatagramChannel hands on the child's frames and drops runts and oversized ones", "[backend][datagram_channel]") {
  Link link(1518);
  link.peer_sends(frame_of(60, 1));
  link.peer_sends(frame_of(13, 2));    // one byte short of an Ethernet header: runt
  link.peer_sends(frame_of(1519, 3));  // one byte over max_frame: oversize
  link.peer_sends(frame_of(14, 4));    // the smallest valid frame
  link.peer_sends(frame_of(1518, 5));  // the largest valid frame
  link.peer_sends(frame_of(0, 6));     // an empty datagram: runt
  link.turn();
  CHECK(link.to_vm.frames == std::vector<Bytes>{frame_of(60, 1), frame_of(14, 4), frame_of(1518, 5)});
  CHECK(link.to_vm.batch_sizes == std::vector<std::size_t>{3});
  CHECK(link.stats.dropped(DropReason::runt) == 2);
  CHECK(link.stats.dropped(DropReason::oversize) == 1);
  CHECK(link.stats.total_drops() == 3);
  CHECK(link.broken.empty());
}

TEST_CASE("DatagramChannel reads at most k_batch_size datagrams per wakeup and comes back for the rest",
          "[backend][datagram_channel]") {
  Link link;
  const std::size_t total = k_batch_size + 5;
  std::vector<Bytes> sent;
  for (std::size_t i = 0; i < total; ++i) {
    sent.push_back(frame_of(60, static_cast<std::uint8_t>(i)));
    link.peer_sends(sent.back());
  }
  for (int turns = 0; link.to_vm.frames.size() < total && turns < 100; ++turns) link.turn();
  CHECK(link.to_vm.frames == sent);
  CHECK(link.to_vm.batch_sizes == std::vector<std::size_t>{k_batch_size, 5});
}

TEST_CASE("DatagramChannel: a peer that is gone breaks the link once, later sends count as backend_down",
          "[backend][datagram_channel]") {
  Link link;
  ::close(link.peer);
  link.peer = -1;
  link.channel->send(batch_of({frame_of(60, 1), frame_of(60, 2)}));
  REQUIRE(link.broken == std::vector<std::string>{"send: Connection refused"});
  CHECK(link.stats.dropped(DropReason::backend_down) == 2);
  CHECK(link.stats.from_vm.frames == 0);
  link.channel->send(batch_of({frame_of(60, 3), frame_of(60, 4), frame_of(60, 5)}));
  CHECK(link.stats.dropped(DropReason::backend_down) == 5);
  CHECK(link.broken.size() == 1);
  CHECK(link.stats.total_drops() == 5);
}

TEST_CASE("DatagramChannel: the owner may destroy the channel from on_broken", "[backend][datagram_channel]") {
  Link link;
  link.channel = std::make_unique<squib::backend::DatagramChannel>(
      &link.loop,
      [&] {
        int pair[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
        ::close(pair[1]);
        return squib::core::Fd(pair[0]);
      }(),
      1518, link.to_vm, link.stats, [&](const std::string& why) {
        link.broken.push_back(why);
        link.channel.reset();
      });
  REQUIRE(link.channel->start().ok());
  link.channel->send(batch_of({frame_of(60, 1)}));
  CHECK(link.broken == std::vector<std::string>{"send: Connection refused"});
  CHECK(link.channel == nullptr);
  CHECK(link.stats.dropped(DropReason::backend_down) == 1);
}

TEST_CASE("DatagramChannel: a peer that stops reading costs counted backend_full drops, never a block",
          "[backend][datagram_channel]") {
  // Our send buffer as small as we choose, so the condition comes soon; the test drives it
  // (sends until the first backend_full, bounded) rather than assuming how many fit.
  Link link(1518, 4096);
  std::vector<Bytes> sent;
  std::size_t round = 0;
  for (; round < 10'000 && link.stats.dropped(DropReason::backend_full) == 0; ++round) {
    std::vector<Bytes> batch;
    for (std::size_t i = 0; i < 4; ++i) batch.push_back(frame_of(1000, static_cast<std::uint8_t>(round * 4 + i)));
    sent.insert(sent.end(), batch.begin(), batch.end());
    link.channel->send(batch_of(batch));
  }
  REQUIRE(link.stats.dropped(DropReason::backend_full) > 0);
  CHECK(link.broken.empty());
  // What arrived is a prefix of what was sent (whole frames, in order, each exact); every
  // other frame is counted as backend_full, and from_vm counts exactly the delivered ones.
  const auto received = link.peer_receives();
  REQUIRE(received.size() < sent.size());
  CHECK(received == std::vector<Bytes>(sent.begin(), sent.begin() + static_cast<std::ptrdiff_t>(received.size())));
  CHECK(received.size() + link.stats.dropped(DropReason::backend_full) == sent.size());
  CHECK(link.stats.from_vm.frames == received.size());
  CHECK(link.stats.from_vm.bytes == received.size() * 1000);
  CHECK(link.stats.total_drops() == link.stats.dropped(DropReason::backend_full));
  // Once the peer has read, sending works again.
  link.channel->send(batch_of({frame_of(60, 200)}));
  CHECK(link.peer_receives() == std::vector<Bytes>{frame_of(60, 200)});
  CHECK(link.broken.empty());
}
