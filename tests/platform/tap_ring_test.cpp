// TapRing (platform/linux/tap_ring.hpp) against the kernel: the io_uring behaviour it relies
// on — a read on an empty non-blocking TAP parks without RWF_NOWAIT and completes -EAGAIN
// with it — and its batches through two real TAPs on a bridge, in a network namespace the
// test makes (unshare; it disappears with the test's fds). Linux only, root.

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include <squib/core/frame_batch.hpp>
#include <squib/core/frame_pool.hpp>
#include <squib/platform/linux/tap_device.hpp>
#include <squib/platform/linux/tap_ring.hpp>

#include "support/catch.hpp"

using squib::core::FrameBatch;
using squib::core::FramePool;
using squib::platform::RingResults;
using squib::platform::TapRing;

namespace {

// The calling thread in a new network namespace until destruction (then back).
class PrivateNetns {
 public:
  PrivateNetns() {
    m_original = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(m_original >= 0);
    REQUIRE(::unshare(CLONE_NEWNET) == 0);
  }
  ~PrivateNetns() {
    (void)::setns(m_original, CLONE_NEWNET);
    ::close(m_original);
  }
  PrivateNetns(const PrivateNetns&) = delete;
  PrivateNetns& operator=(const PrivateNetns&) = delete;

 private:
  int m_original = -1;
};

void must(const std::string& line) {
  INFO(line);
  REQUIRE(std::system((line + " >/dev/null 2>&1").c_str()) == 0);
}

// A broadcast frame of `size` bytes, EtherType 0x88b5 (IEEE local experimental), payload
// numbered from `seq`.
std::vector<std::byte> frame_of(std::size_t size, std::uint8_t seq) {
  std::vector<std::byte> f(size);
  for (std::size_t i = 0; i < 6; ++i) f[i] = std::byte{0xff};
  const std::array<std::uint8_t, 6> src{0x02, 0, 0, 0, 0x7a, 0x01};
  for (std::size_t i = 0; i < 6; ++i) f[6 + i] = std::byte{src[i]};
  f[12] = std::byte{0x88};
  f[13] = std::byte{0xb5};
  for (std::size_t i = 14; i < size; ++i) f[i] = static_cast<std::byte>(seq + i);
  return f;
}

}  // namespace

TEST_CASE("io_uring: a read on an empty non-blocking TAP parks without RWF_NOWAIT, -EAGAIN with it",
          "[platform][tap-ring]") {
  PrivateNetns netns;
  auto tap = squib::platform::open_tap("sqring0");
  REQUIRE(tap);
  io_uring ring{};
  REQUIRE(io_uring_queue_init(8, &ring, 0) == 0);
  std::array<char, 2048> buffer{};
  for (const int flags : {0, RWF_NOWAIT}) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, tap->get(), buffer.data(), buffer.size(), 0);
    sqe->rw_flags = flags;
    REQUIRE(io_uring_submit(&ring) == 1);
    INFO("rw_flags " << flags);
    if (flags == 0) {
      CHECK(io_uring_cq_ready(&ring) == 0);  // parked on an internal poll: no completion
    } else {
      REQUIRE(io_uring_cq_ready(&ring) == 1);
      io_uring_cqe* cqe = nullptr;
      REQUIRE(io_uring_peek_cqe(&ring, &cqe) == 0);
      CHECK(cqe->res == -EAGAIN);
      io_uring_cqe_seen(&ring, cqe);
    }
  }
  io_uring_queue_exit(&ring);  // cancels the parked read before the buffer goes
}

TEST_CASE("TapRing: a batch written to one TAP is read as a batch from another, byte for byte, in order",
          "[platform][tap-ring]") {
  PrivateNetns netns;
  auto a = squib::platform::open_tap("sqring-a");
  auto b = squib::platform::open_tap("sqring-b");
  REQUIRE(a);
  REQUIRE(b);
  must("ip link add sqring-br type bridge");
  must("ip link set sqring-br up");
  for (const char* tap : {"sqring-a", "sqring-b"}) must(std::string("ip link set ") + tap + " master sqring-br up");
  auto ring = TapRing::open();
  REQUIRE(ring);

  SECTION("an empty TAP: every read slot is -EAGAIN, none parks") {
    FramePool pool(squib::core::k_batch_size, 1515);
    RingResults results{};
    // Whatever the new links sent (IPv6 router solicitations, MLD) is drained first.
    while ((*ring)->read_batch(b->get(), pool, results) == squib::core::k_batch_size) {
      bool any = false;
      for (const auto r : results) any = any || r >= 0;
      if (!any) break;
    }
    REQUIRE((*ring)->read_batch(b->get(), pool, results) == squib::core::k_batch_size);
    for (const auto r : results) CHECK(r == -EAGAIN);
  }

  SECTION("5 frames of 60 to 1514 bytes") {
    std::vector<std::vector<std::byte>> frames;
    FrameBatch batch;
    for (const std::size_t size : std::initializer_list<std::size_t>{60, 61, 1000, 1513, 1514}) {
      frames.push_back(frame_of(size, static_cast<std::uint8_t>(frames.size())));
    }
    for (const auto& f : frames) batch.push(f);
    RingResults written{};
    REQUIRE((*ring)->write_batch(a->get(), batch, written) == frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i) CHECK(written[i] == static_cast<ssize_t>(frames[i].size()));

    // Read until all 5 came (other frames the kernel sends on the bridge are skipped).
    FramePool pool(squib::core::k_batch_size, 1515);
    std::vector<std::vector<std::byte>> got;
    for (int round = 0; round < 100 && got.size() < frames.size(); ++round) {
      pollfd pfd{b->get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      RingResults results{};
      REQUIRE((*ring)->read_batch(b->get(), pool, results) == squib::core::k_batch_size);
      for (std::size_t i = 0; i < squib::core::k_batch_size; ++i) {
        if (results[i] < 0) {
          CHECK(results[i] == -EAGAIN);
          continue;
        }
        const auto slot = pool.slot(i).first(static_cast<std::size_t>(results[i]));
        if (slot.size() >= 14 && slot[12] == std::byte{0x88} && slot[13] == std::byte{0xb5}) {
          got.emplace_back(slot.begin(), slot.end());
        }
      }
    }
    CHECK(got == frames);
  }
}
