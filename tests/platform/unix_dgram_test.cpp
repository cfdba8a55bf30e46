// Platform assumptions about AF_UNIX SOCK_DGRAM that lib/squib/relay/vm_port.cpp relies on
// (style.md item 13, after passt doc/platform-requirements/). Each TEST_CASE states one
// assumption; if a kernel changes it, this fails before the daemon misbehaves.

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <vector>

#include "platform/platform_support.hpp"

namespace {

using namespace squib::platform_test;

// The largest frame the daemon must carry: MTU 65535 (proto/messages.hpp k_max_mtu) plus
// the Ethernet header (14) and one 802.1Q tag (4).
constexpr std::size_t k_largest_frame = 65535 + 14 + 4;
// VmPort asks for this much socket buffer (SO_SNDBUFFORCE, else SO_SNDBUF).
constexpr int k_requested_buffer = 4 * 1024 * 1024;

// True when one datagram of `size` bytes goes from `sender` to `path` and arrives whole.
bool datagram_fits(int sender, int receiver, const std::string& path, std::size_t size, int* err) {
  std::vector<std::byte> out(size, std::byte{0x5a});
  if (size > 0) out[size - 1] = std::byte{0xa5};
  if (send_to(sender, path, out.data(), out.size(), err) != static_cast<ssize_t>(size)) return false;
  std::vector<std::byte> in(size + 1);
  const ssize_t n = ::recv(receiver, in.data(), in.size(), MSG_DONTWAIT);
  return n == static_cast<ssize_t>(size) && std::memcmp(in.data(), out.data(), size) == 0;
}

}  // namespace

TEST_CASE("AF_UNIX dgram: a 65553-byte frame fits in one datagram with a 4 MiB SO_SNDBUF",
          "[platform][unix_dgram]") {
  TempDir dir;
  const std::string path = dir.file("rx.sock");
  Fd receiver = bound_dgram(path);
  Fd sender = unix_socket(SOCK_DGRAM, true);

  SECTION("SO_SNDBUF of 4 MiB (capped by net.core.wmem_max when not root)") {
    REQUIRE(::setsockopt(sender.get(), SOL_SOCKET, SO_SNDBUF, &k_requested_buffer, sizeof k_requested_buffer) == 0);
    const int granted = int_option(sender.get(), SOL_SOCKET, SO_SNDBUF);
    WARN("SO_SNDBUF requested " << k_requested_buffer << ", granted " << granted);
    int err = 0;
    CHECK(datagram_fits(sender.get(), receiver.get(), path, k_largest_frame, &err));
    CHECK(err == 0);
  }
  SECTION("the default SO_SNDBUF of a VMM that sets none also carries it") {
    WARN("default SO_SNDBUF " << int_option(sender.get(), SOL_SOCKET, SO_SNDBUF));
    int err = 0;
    CHECK(datagram_fits(sender.get(), receiver.get(), path, k_largest_frame, &err));
    CHECK(err == 0);
  }
  SECTION("the limit is the send buffer: above it EMSGSIZE, just below it ENOBUFS") {
    // Linux unix_dgram_sendmsg(): len > sk_sndbuf - 32 is EMSGSIZE; a datagram whose skb
    // truesize does not fit the send buffer's accounting is ENOBUFS. VmPort never sends more
    // than MTU + 18 bytes, so it meets neither; this records where the edge is.
    REQUIRE(::setsockopt(sender.get(), SOL_SOCKET, SO_SNDBUF, &k_requested_buffer, sizeof k_requested_buffer) == 0);
    const auto granted = static_cast<std::size_t>(int_option(sender.get(), SOL_SOCKET, SO_SNDBUF));
    std::size_t good = k_largest_frame;
    std::size_t bad = granted + 1;
    int err = 0;
    REQUIRE_FALSE(datagram_fits(sender.get(), receiver.get(), path, bad, &err));
    CHECK(err == EMSGSIZE);
    while (bad - good > 1) {
      const std::size_t mid = good + (bad - good) / 2;
      if (datagram_fits(sender.get(), receiver.get(), path, mid, &err)) {
        good = mid;
      } else {
        INFO("size " << mid << ": " << std::strerror(err));
        REQUIRE((err == EMSGSIZE || err == ENOBUFS));
        bad = mid;
      }
    }
    WARN("largest AF_UNIX datagram with SO_SNDBUF " << granted << ": " << good << " bytes; " << bad << " bytes: "
                                                     << std::strerror(err));
    CHECK(good >= k_largest_frame);
    CHECK(good < granted);
  }
}

TEST_CASE("AF_UNIX dgram: a full, non-reading receiver makes a non-blocking send fail at once",
          "[platform][unix_dgram]") {
  TempDir dir;
  const std::string path = dir.file("stalled.sock");
  Fd receiver = bound_dgram(path);  // never read: a stopped VM
  const std::vector<std::byte> frame(1514, std::byte{0x42});

  const auto fill_until_error = [&](int fd, int flags, std::size_t* accepted) {
    const auto start = std::chrono::steady_clock::now();
    int err = 0;
    *accepted = 0;
    for (int i = 0; i < 1'000'000; ++i) {
      if (send_to(fd, path, frame.data(), frame.size(), &err, flags) < 0) break;
      ++*accepted;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(elapsed < std::chrono::seconds(2));  // it never blocked
    return err;
  };

  SECTION("SOCK_NONBLOCK socket") {
    Fd sender = unix_socket(SOCK_DGRAM, true);
    std::size_t accepted = 0;
    const int err = fill_until_error(sender.get(), 0, &accepted);
    WARN("receiver full after " << accepted << " datagrams of 1514 bytes");
#if defined(__linux__)
    CHECK(err == EAGAIN);  // Linux: EAGAIN, never ENOBUFS, for AF_UNIX
#else
    CHECK((err == EAGAIN || err == ENOBUFS));  // macOS reports ENOBUFS (vmnet-helper write_to_vm)
#endif
    CHECK(accepted > 0);
    SECTION("and stays full until the receiver reads") {
      int again = 0;
      CHECK(send_to(sender.get(), path, frame.data(), frame.size(), &again) < 0);
      CHECK(again == err);
      std::vector<std::byte> in(2048);
      REQUIRE(::recv(receiver.get(), in.data(), in.size(), 0) == 1514);
      CHECK(send_to(sender.get(), path, frame.data(), frame.size(), &again) == 1514);
    }
  }
  SECTION("a blocking socket with MSG_DONTWAIT (what VmPort's sendmmsg passes)") {
    Fd sender = unix_socket(SOCK_DGRAM, false);
    std::size_t accepted = 0;
    const int err = fill_until_error(sender.get(), MSG_DONTWAIT, &accepted);
#if defined(__linux__)
    CHECK(err == EAGAIN);
#else
    CHECK((err == EAGAIN || err == ENOBUFS));
#endif
  }
#if defined(__linux__)
  SECTION("the queue holds net.unix.max_dgram_qlen + 1 datagrams, whatever SO_RCVBUF says") {
    // Linux unix_recvq_full(): a receive queue longer than sk_max_ack_backlog (the sysctl at
    // socket creation, default 10) is full. So a VMM's socket takes ~11 frames between its
    // reads even though VmPort sends batches of 32: the rest are vm_full drops, by design.
    std::ifstream sysctl("/proc/sys/net/unix/max_dgram_qlen");
    std::size_t qlen = 0;
    REQUIRE(sysctl >> qlen);
    const std::string roomy_path = dir.file("roomy.sock");
    Fd roomy = bound_dgram(roomy_path);
    REQUIRE(::setsockopt(roomy.get(), SOL_SOCKET, SO_RCVBUF, &k_requested_buffer, sizeof k_requested_buffer) == 0);
    Fd sender = unix_socket(SOCK_DGRAM, true);
    const char tiny[14] = {};
    std::size_t accepted = 0;
    int err = 0;
    while (accepted < 100'000 && send_to(sender.get(), roomy_path, tiny, sizeof tiny, &err) == sizeof tiny) ++accepted;
    WARN("net.unix.max_dgram_qlen " << qlen << ": " << accepted << " datagrams queued, then "
                                    << std::strerror(err));
    CHECK(accepted == qlen + 1);
    CHECK(err == EAGAIN);
  }
  SECTION("sendmmsg: a partial count first, then -1 EAGAIN (VmPort::consume's retry loop)") {
    Fd sender = unix_socket(SOCK_DGRAM, true);
    socklen_t length = 0;
    auto addr = unix_address(path, &length);
    constexpr std::size_t k_batch = 32;
    std::array<iovec, k_batch> iovs{};
    std::array<mmsghdr, k_batch> msgs{};
    for (std::size_t i = 0; i < k_batch; ++i) {
      iovs[i] = iovec{const_cast<std::byte*>(frame.data()), frame.size()};  // NOLINT: read only
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addr;
      msgs[i].msg_hdr.msg_namelen = length;
    }
    int total = 0;
    int first = -2;
    int second = -2;
    int err = 0;
    for (int round = 0; round < 10'000; ++round) {
      const int sent = ::sendmmsg(sender.get(), msgs.data(), k_batch, MSG_DONTWAIT);
      if (sent < 0) {
        err = errno;
        second = sent;
        break;
      }
      total += sent;
      if (sent < static_cast<int>(k_batch)) {
        first = sent;
        // The next call reports why the batch stopped.
        second = ::sendmmsg(sender.get(), msgs.data(), k_batch, MSG_DONTWAIT);
        err = errno;
        break;
      }
    }
    WARN("sendmmsg: " << total << " datagrams accepted; short batch of " << first);
    CHECK(first >= 0);
    CHECK(first < static_cast<int>(k_batch));
    CHECK(second == -1);
    CHECK(err == EAGAIN);
  }
#endif
}

TEST_CASE("AF_UNIX dgram: sending to a path nobody is bound to", "[platform][unix_dgram]") {
  TempDir dir;
  Fd sender = unix_socket(SOCK_DGRAM, true);
  const char frame[14] = {};

  SECTION("no such file: ENOENT") {
    int err = 0;
    CHECK(send_to(sender.get(), dir.file("missing.sock"), frame, sizeof frame, &err) < 0);
    CHECK(err == ENOENT);
  }
  SECTION("a socket file left by a closed socket (a VMM that exited): ECONNREFUSED") {
    const std::string path = dir.file("stale.sock");
    { Fd gone = bound_dgram(path); }
    int err = 0;
    CHECK(send_to(sender.get(), path, frame, sizeof frame, &err) < 0);
    CHECK(err == ECONNREFUSED);
  }
  SECTION("a connected peer that closed: ECONNREFUSED once, then ENOTCONN") {
    const std::string path = dir.file("peer.sock");
    Fd peer = bound_dgram(path);
    socklen_t length = 0;
    const auto addr = unix_address(path, &length);
    REQUIRE(::connect(sender.get(), reinterpret_cast<const sockaddr*>(&addr), length) == 0);
    REQUIRE(::send(sender.get(), frame, sizeof frame, 0) == sizeof frame);
    peer.reset();
    CHECK(::send(sender.get(), frame, sizeof frame, 0) < 0);
    CHECK(errno == ECONNREFUSED);
    CHECK(::send(sender.get(), frame, sizeof frame, 0) < 0);
    CHECK(errno == ENOTCONN);
  }
  SECTION("a regular file at the path: ECONNREFUSED (never written to)") {
    const std::string path = dir.file("file.sock");
    { Fd file(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)); REQUIRE(file); }
    int err = 0;
    CHECK(send_to(sender.get(), path, frame, sizeof frame, &err) < 0);
    CHECK(err == ECONNREFUSED);
  }
}

TEST_CASE("AF_UNIX dgram: the sender's address tells bound from unbound peers", "[platform][unix_dgram]") {
  // VmPort::is_named(): only a datagram from a bound socket can be answered.
  TempDir dir;
  const std::string path = dir.file("rx.sock");
  Fd receiver = bound_dgram(path);
  const char frame[14] = {};
  sockaddr_un from{};
  socklen_t from_length = sizeof from;
  char in[64];

  SECTION("an unbound sender has no path: a length of at most the family") {
    Fd sender = unix_socket(SOCK_DGRAM, true);
    int err = 0;
    REQUIRE(send_to(sender.get(), path, frame, sizeof frame, &err) == sizeof frame);
    REQUIRE(::recvfrom(receiver.get(), in, sizeof in, 0, reinterpret_cast<sockaddr*>(&from), &from_length) == 14);
    CHECK(from_length <= offsetof(sockaddr_un, sun_path));
#if defined(__linux__)
    // unix_copy_addr(): an unnamed sender yields msg_namelen 0 (not sizeof(sa_family_t),
    // which unix(7) documents for getsockname of an unnamed socket).
    CHECK(from_length == 0);
#endif
  }
  SECTION("a bound sender has its path, NUL included") {
    const std::string vm_path = dir.file("vm.sock");
    Fd sender = bound_dgram(vm_path);
    int err = 0;
    REQUIRE(send_to(sender.get(), path, frame, sizeof frame, &err) == sizeof frame);
    REQUIRE(::recvfrom(receiver.get(), in, sizeof in, 0, reinterpret_cast<sockaddr*>(&from), &from_length) == 14);
    CHECK(from_length == offsetof(sockaddr_un, sun_path) + vm_path.size() + 1);
    CHECK(std::string(from.sun_path) == vm_path);
  }
}

TEST_CASE("AF_UNIX: sun_path holds 107 bytes and a NUL on Linux (104 on macOS)", "[platform][unix_dgram]") {
  // VmPort::open() rejects a path of sizeof(sun_path) bytes or more instead of truncating it.
#if defined(__linux__)
  CHECK(sizeof(sockaddr_un{}.sun_path) == 108);
#elif defined(__APPLE__)
  CHECK(sizeof(sockaddr_un{}.sun_path) == 104);
#endif
  TempDir dir;
  const std::size_t room = sizeof(sockaddr_un{}.sun_path) - 1 - dir.path().size() - 1;
  const std::string longest = dir.file(std::string(room, 'p'));
  REQUIRE(longest.size() == sizeof(sockaddr_un{}.sun_path) - 1);
  Fd fd = bound_dgram(longest);
  CHECK(::access(longest.c_str(), F_OK) == 0);
}
