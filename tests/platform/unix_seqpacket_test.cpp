// Platform assumptions about AF_UNIX SOCK_SEQPACKET socketpairs that the capture stream
// (lib/squib/relay/capture_session.hpp) relies on: each send is one record, received whole or
// flagged MSG_TRUNC; a non-blocking send to a peer that does not read ends in EAGAIN (a
// bounded buffer, never a block); one end's shutdown(SHUT_WR) is EOF on the other (poll
// readable, recv 0) while that other end can still send; a closed peer is EOF to a reader
// and EPIPE (MSG_NOSIGNAL) to a sender.

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <vector>

#include "platform/platform_support.hpp"

using namespace squib::platform_test;

namespace {

std::array<Fd, 2> seqpacket_pair() {
  int fds[2] = {-1, -1};
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
  return {Fd(fds[0]), Fd(fds[1])};
}

}  // namespace

TEST_CASE("AF_UNIX seqpacket: records keep their boundaries, a full peer is EAGAIN", "[platform][unix_seqpacket]") {
  auto [daemon, client] = seqpacket_pair();
  const std::vector<std::byte> a(100, std::byte{1});
  const std::vector<std::byte> b(300, std::byte{2});
  REQUIRE(::send(daemon.get(), a.data(), a.size(), MSG_DONTWAIT | MSG_NOSIGNAL) == 100);
  REQUIRE(::send(daemon.get(), b.data(), b.size(), MSG_DONTWAIT | MSG_NOSIGNAL) == 300);
  std::array<std::byte, 1000> buffer{};
  CHECK(::recv(client.get(), buffer.data(), buffer.size(), MSG_DONTWAIT) == 100);
  CHECK(::recv(client.get(), buffer.data(), 50, MSG_DONTWAIT | MSG_TRUNC) == 300);  // the rest is discarded
  CHECK(::recv(client.get(), buffer.data(), buffer.size(), MSG_DONTWAIT) == -1);
  CHECK(errno == EAGAIN);

  const std::vector<std::byte> record(1000, std::byte{3});
  ssize_t sent = 0;
  int records = 0;
  for (; records < 1000000; ++records) {
    sent = ::send(daemon.get(), record.data(), record.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) break;
  }
  CHECK(sent == -1);
  CHECK(errno == EAGAIN);
  CHECK(records > 0);
}

TEST_CASE("AF_UNIX seqpacket: shutdown(SHUT_WR) is EOF to the peer, which can still send",
          "[platform][unix_seqpacket]") {
  auto [daemon, client] = seqpacket_pair();
  REQUIRE(::shutdown(client.get(), SHUT_WR) == 0);
  pollfd waiting{daemon.get(), POLLIN, 0};
  REQUIRE(::poll(&waiting, 1, 0) == 1);
  CHECK((waiting.revents & POLLIN) != 0);
  std::byte byte{};
  CHECK(::recv(daemon.get(), &byte, 1, MSG_DONTWAIT) == 0);
  CHECK(::send(daemon.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1);
  CHECK(::recv(client.get(), &byte, 1, MSG_DONTWAIT) == 1);
}

TEST_CASE("AF_UNIX seqpacket: a closed peer is EOF to a reader and EPIPE to a sender", "[platform][unix_seqpacket]") {
  auto [daemon, client] = seqpacket_pair();
  client.reset();
  std::byte byte{};
  CHECK(::recv(daemon.get(), &byte, 1, MSG_DONTWAIT) == 0);
  CHECK(::send(daemon.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == -1);
  CHECK(errno == EPIPE);
}
