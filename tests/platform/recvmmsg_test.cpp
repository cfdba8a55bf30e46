// Platform assumptions about recvmmsg(2) that VmPort::on_readable() relies on: a datagram
// larger than its buffer is cut to the buffer and flagged MSG_TRUNC in that message's
// msg_flags (not in the call's result), the others in the batch are intact, and an empty
// queue is -1 EAGAIN with MSG_DONTWAIT. Linux only (macOS has no recvmmsg).

#if defined(__linux__)

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "platform/platform_support.hpp"

using namespace squib::platform_test;

TEST_CASE("recvmmsg: an oversized datagram is truncated and flagged MSG_TRUNC", "[platform][recvmmsg]") {
  TempDir dir;
  const std::string path = dir.file("rx.sock");
  Fd receiver = bound_dgram(path);
  Fd sender = unix_socket(SOCK_DGRAM, true);

  constexpr std::size_t k_slot = 64;
  const std::vector<std::byte> small(20, std::byte{0x01});
  std::vector<std::byte> big(k_slot + 100);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i);
  const std::vector<std::byte> exact(k_slot, std::byte{0x03});
  int err = 0;
  REQUIRE(send_to(sender.get(), path, small.data(), small.size(), &err) == 20);
  REQUIRE(send_to(sender.get(), path, big.data(), big.size(), &err) == static_cast<ssize_t>(big.size()));
  REQUIRE(send_to(sender.get(), path, exact.data(), exact.size(), &err) == static_cast<ssize_t>(k_slot));

  std::array<std::array<std::byte, k_slot>, 4> slots{};
  std::array<iovec, 4> iovs{};
  std::array<mmsghdr, 4> msgs{};
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    iovs[i] = iovec{slots[i].data(), slots[i].size()};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  const int received = ::recvmmsg(receiver.get(), msgs.data(), 4, MSG_DONTWAIT, nullptr);
  REQUIRE(received == 3);

  CHECK(msgs[0].msg_len == 20);
  CHECK((msgs[0].msg_hdr.msg_flags & MSG_TRUNC) == 0);

  CHECK((msgs[1].msg_hdr.msg_flags & MSG_TRUNC) != 0);
  CHECK(msgs[1].msg_len == k_slot);  // what was copied, not the datagram's size
  CHECK(std::memcmp(slots[1].data(), big.data(), k_slot) == 0);

  CHECK(msgs[2].msg_len == k_slot);  // exactly the slot: not truncated
  CHECK((msgs[2].msg_hdr.msg_flags & MSG_TRUNC) == 0);

  SECTION("the truncated tail is discarded, not delivered as another datagram") {
    CHECK(::recvmmsg(receiver.get(), msgs.data(), 4, MSG_DONTWAIT, nullptr) == -1);
    CHECK(errno == EAGAIN);
  }
}

TEST_CASE("recvmmsg: at most vlen datagrams per call, the rest stay queued", "[platform][recvmmsg]") {
  TempDir dir;
  const std::string path = dir.file("rx.sock");
  Fd receiver = bound_dgram(path);
  Fd sender = unix_socket(SOCK_DGRAM, true);
  const char frame[14] = {};
  int err = 0;
  for (int i = 0; i < 5; ++i) REQUIRE(send_to(sender.get(), path, frame, sizeof frame, &err) == 14);

  std::array<char, 64> buffer{};
  std::array<iovec, 2> iovs{};
  std::array<mmsghdr, 2> msgs{};
  for (std::size_t i = 0; i < 2; ++i) {
    iovs[i] = iovec{buffer.data(), buffer.size()};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  CHECK(::recvmmsg(receiver.get(), msgs.data(), 2, MSG_DONTWAIT, nullptr) == 2);
  CHECK(::recvmmsg(receiver.get(), msgs.data(), 2, MSG_DONTWAIT, nullptr) == 2);
  CHECK(::recvmmsg(receiver.get(), msgs.data(), 2, MSG_DONTWAIT, nullptr) == 1);
  CHECK(::recvmmsg(receiver.get(), msgs.data(), 2, MSG_DONTWAIT, nullptr) == -1);
  CHECK(errno == EAGAIN);
}

#endif  // __linux__
