// Platform assumptions about AF_UNIX SOCK_STREAM that lib/squib/backend/stream_channel.cpp
// relies on when it writes QEMU-framed records to a userspace child (passt, gvproxy): a
// non-blocking write to a peer that is not reading accepts part of the data and returns the
// count (the channel keeps the tail), then EAGAIN; bytes arrive in order; a closed peer is
// EPIPE with MSG_NOSIGNAL, not SIGPIPE.

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "platform/platform_support.hpp"

using namespace squib::platform_test;

namespace {

std::array<Fd, 2> stream_pair() {
  int fds[2] = {-1, -1};
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
  return {Fd(fds[0]), Fd(fds[1])};
}

std::vector<std::byte> numbered(std::size_t n) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 31 + i / 251) & 0xffU);
  return out;
}

// Reads everything currently queued on `fd`.
std::vector<std::byte> drain(int fd) {
  std::vector<std::byte> out;
  std::array<std::byte, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n <= 0) break;
    out.insert(out.end(), buffer.begin(), buffer.begin() + n);
  }
  return out;
}

}  // namespace

TEST_CASE("AF_UNIX stream: a non-blocking write to a full peer is partial, then EAGAIN",
          "[platform][unix_stream]") {
  auto [writer, reader] = stream_pair();
  const auto data = numbered(8 * 1024 * 1024);  // more than any default buffer

  const ssize_t first = ::send(writer.get(), data.data(), data.size(), MSG_NOSIGNAL);
  WARN("first non-blocking send of " << data.size() << " bytes wrote " << first << " (SO_SNDBUF "
                                     << int_option(writer.get(), SOL_SOCKET, SO_SNDBUF) << ")");
  REQUIRE(first > 0);
  CHECK(static_cast<std::size_t>(first) < data.size());

  // Keep writing until the kernel refuses: every accepted count is a prefix of what is left.
  std::size_t written = static_cast<std::size_t>(first);
  int err = 0;
  for (int i = 0; i < 10'000 && written < data.size(); ++i) {
    const ssize_t n = ::send(writer.get(), data.data() + written, data.size() - written, MSG_NOSIGNAL);
    if (n < 0) {
      err = errno;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  CHECK(err == EAGAIN);
  REQUIRE(written < data.size());

  SECTION("what arrives is exactly the accepted prefix, in order") {
    const auto received = drain(reader.get());
    REQUIRE(received.size() == written);
    CHECK(std::memcmp(received.data(), data.data(), written) == 0);
    SECTION("and once the reader drains, the writer continues where it stopped") {
      const ssize_t n = ::send(writer.get(), data.data() + written, 100, MSG_NOSIGNAL);
      CHECK(n == 100);
      const auto more = drain(reader.get());
      REQUIRE(more.size() == 100);
      CHECK(std::memcmp(more.data(), data.data() + written, 100) == 0);
    }
  }
}

TEST_CASE("AF_UNIX stream: a partial sendmsg may stop inside a record", "[platform][unix_stream]") {
  // StreamChannel::send() writes [prefix, frame] iovec pairs in one sendmsg; the count it
  // gets back is in bytes, not records, so it must locate the record the write stopped in.
  auto [writer, reader] = stream_pair();
  constexpr std::size_t k_frame = 1514;
  const auto frame = numbered(k_frame);
  std::array<std::byte, 4> prefix{std::byte{0}, std::byte{0}, std::byte{0x05}, std::byte{0xea}};
  std::array<iovec, 64> iovs{};
  for (std::size_t i = 0; i < 32; ++i) {
    iovs[2 * i] = iovec{prefix.data(), prefix.size()};
    iovs[2 * i + 1] = iovec{const_cast<std::byte*>(frame.data()), frame.size()};  // NOLINT: read only
  }
  msghdr msg{};
  msg.msg_iov = iovs.data();
  msg.msg_iovlen = iovs.size();
  constexpr std::size_t k_batch_bytes = 32 * (k_frame + 4);

  std::size_t total = 0;
  ssize_t last = 0;
  int err = 0;
  for (int i = 0; i < 100'000; ++i) {
    last = ::sendmsg(writer.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (last < 0) {
      err = errno;
      break;
    }
    total += static_cast<std::size_t>(last);
    if (static_cast<std::size_t>(last) < k_batch_bytes) break;
  }
  REQUIRE(last >= 0);  // the buffer filled with a short write, not with an error
  CHECK(static_cast<std::size_t>(last) < k_batch_bytes);
  WARN("short sendmsg wrote " << last << " of " << k_batch_bytes << " bytes; " << static_cast<std::size_t>(last) % (k_frame + 4)
                              << " bytes into a record; total queued " << total);
  CHECK(::sendmsg(writer.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1);
  CHECK(errno == EAGAIN);
  CHECK(err == 0);
  CHECK(drain(reader.get()).size() == total);
}

TEST_CASE("AF_UNIX stream: writing to a closed peer is EPIPE with MSG_NOSIGNAL", "[platform][unix_stream]") {
  auto [writer, reader] = stream_pair();
  reader.reset();
  const char byte = 1;
  CHECK(::send(writer.get(), &byte, 1, MSG_NOSIGNAL) == -1);  // would be SIGPIPE without the flag
  CHECK(errno == EPIPE);
}

TEST_CASE("AF_UNIX stream: reading from a closed peer is 0 (EOF), an empty queue EAGAIN",
          "[platform][unix_stream]") {
  auto [a, b] = stream_pair();
  char byte = 0;
  CHECK(::recv(a.get(), &byte, 1, 0) == -1);
  CHECK(errno == EAGAIN);
  b.reset();
  CHECK(::recv(a.get(), &byte, 1, 0) == 0);
}
