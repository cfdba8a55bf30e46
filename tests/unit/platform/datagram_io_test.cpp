// Tests of squib/platform/datagram_io.hpp on real AF_UNIX SOCK_DGRAM sockets: a batch in is
// exactly the datagrams that were sent, at most k_batch_size per call, with oversized ones
// truncated and flagged (never overflowing a slot) and the sender's address reported when it
// has one; a batch out is one datagram per frame, in order, stopping at the first error with
// the frames before it counted as sent (EAGAIN on a full socket, EMSGSIZE, a peer gone).

#include <squib/platform/datagram_io.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "support/catch.hpp"
#include "unit/frames.hpp"

namespace {

using squib::test::Bytes;
using squib::test::frame_of;
using squib::test::batch_of;
using squib::core::k_batch_size;
using squib::platform::DatagramReader;
using squib::platform::DatagramWriter;

Bytes copy_of(std::span<const std::byte> span) { return {span.begin(), span.end()}; }

// A non-blocking SOCK_DGRAM socketpair, closed on destruction.
struct Pair {
  int a = -1;
  int b = -1;
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    a = fds[0];
    b = fds[1];
  }
  ~Pair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;
};

void send_raw(int fd, const Bytes& datagram) {
  REQUIRE(::send(fd, datagram.data(), datagram.size(), MSG_DONTWAIT) == static_cast<ssize_t>(datagram.size()));
}

// Every datagram waiting on fd, each as its bytes (the buffer is larger than any sent here).
std::vector<Bytes> drain(int fd) {
  std::vector<Bytes> out;
  std::byte buffer[70'000];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0) break;
    out.emplace_back(buffer, buffer + n);
  }
  return out;
}

// A temporary directory for bound sockets, removed with what is in it.
struct TempDir {
  std::string path;
  TempDir() {
    char templ[] = "/tmp/squib-dgio-XXXXXX";
    REQUIRE(::mkdtemp(templ) != nullptr);
    path = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// A non-blocking datagram socket bound at `path` (or unbound when empty).
int bound_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  if (!path.empty()) {
    const auto addr = address_of(path);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  }
  return fd;
}

}  // namespace

TEST_CASE("DatagramReader returns each waiting datagram exactly, in order", "[platform][datagram_io]") {
  Pair pair;
  DatagramReader reader(1518);
  CHECK(reader.receive(pair.a) == 0);  // nothing waiting: 0, not an error
  const std::vector<Bytes> sent = {frame_of(60, 1), frame_of(1518, 2), frame_of(14, 3), frame_of(1, 4)};
  for (const auto& datagram : sent) send_raw(pair.b, datagram);
  REQUIRE(reader.receive(pair.a) == 4);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    CHECK(copy_of(reader.at(i).bytes) == sent[i]);
    CHECK_FALSE(reader.at(i).truncated);
    CHECK(reader.at(i).from == nullptr);  // a socketpair's peer has no name
    CHECK(reader.at(i).from_length == 0);
  }
  CHECK(reader.receive(pair.a) == 0);
}

TEST_CASE("DatagramReader reads at most k_batch_size datagrams per call", "[platform][datagram_io]") {
  Pair pair;
  DatagramReader reader(64);
  const std::size_t total = k_batch_size + 8;
  for (std::size_t i = 0; i < total; ++i) send_raw(pair.b, frame_of(60, static_cast<std::uint8_t>(i)));
  REQUIRE(reader.receive(pair.a) == static_cast<int>(k_batch_size));
  for (std::size_t i = 0; i < k_batch_size; ++i) {
    CHECK(copy_of(reader.at(i).bytes) == frame_of(60, static_cast<std::uint8_t>(i)));
  }
  REQUIRE(reader.receive(pair.a) == 8);
  for (std::size_t i = 0; i < 8; ++i) {
    CHECK(copy_of(reader.at(i).bytes) == frame_of(60, static_cast<std::uint8_t>(k_batch_size + i)));
  }
  CHECK(reader.receive(pair.a) == 0);
}

TEST_CASE("DatagramReader flags a datagram longer than its slot as truncated, never overflows", "[platform][datagram_io]") {
  Pair pair;
  DatagramReader reader(100);
  const Bytes big = frame_of(150, 9);
  send_raw(pair.b, big);
  send_raw(pair.b, frame_of(100, 10));  // exactly the slot: not truncated
  send_raw(pair.b, frame_of(101, 11));  // one byte over
  REQUIRE(reader.receive(pair.a) == 3);
  CHECK(reader.at(0).truncated);
  CHECK(copy_of(reader.at(0).bytes) == Bytes(big.begin(), big.begin() + 100));
  CHECK_FALSE(reader.at(1).truncated);
  CHECK(copy_of(reader.at(1).bytes) == frame_of(100, 10));
  CHECK(reader.at(2).truncated);
  CHECK(reader.at(2).bytes.size() == 100);
  // The flag does not stick to the slot on the next call.
  send_raw(pair.b, frame_of(20, 12));
  REQUIRE(reader.receive(pair.a) == 1);
  CHECK_FALSE(reader.at(0).truncated);
  CHECK(copy_of(reader.at(0).bytes) == frame_of(20, 12));
}

TEST_CASE("DatagramReader reports a bound sender's address and none for an unbound one", "[platform][datagram_io]") {
  TempDir dir;
  const std::string receiver_path = dir.path + "/rx.sock";
  const std::string sender_path = dir.path + "/vm.sock";
  const int receiver = bound_socket(receiver_path);
  const int named = bound_socket(sender_path);
  const int unnamed = bound_socket("");
  const auto to = address_of(receiver_path);
  const Bytes one = frame_of(60, 1);
  const Bytes two = frame_of(61, 2);
  REQUIRE(::sendto(named, one.data(), one.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 60);
  REQUIRE(::sendto(unnamed, two.data(), two.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 61);
  DatagramReader reader(1518);
  REQUIRE(reader.receive(receiver) == 2);
  REQUIRE(reader.at(0).from != nullptr);
  CHECK(std::string(reader.at(0).from->sun_path) == sender_path);
  CHECK(reader.at(0).from_length == offsetof(sockaddr_un, sun_path) + sender_path.size() + 1);
  CHECK(copy_of(reader.at(0).bytes) == one);
  CHECK(reader.at(1).from == nullptr);
  CHECK(reader.at(1).from_length == 0);
  CHECK(copy_of(reader.at(1).bytes) == two);
  ::close(receiver);
  ::close(named);
  ::close(unnamed);
}

TEST_CASE("DatagramReader returns -errno on a real error", "[platform][datagram_io]") {
  DatagramReader reader(64);
  SECTION("a closed fd") {
    Pair pair;
    const int fd = pair.a;
    ::close(pair.a);
    pair.a = -1;
    CHECK(reader.receive(fd) == -EBADF);
  }
  SECTION("not a socket") {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    CHECK(reader.receive(pipe_fds[0]) == -ENOTSOCK);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
  }
}

TEST_CASE("DatagramWriter sends one datagram per frame, from `first` on", "[platform][datagram_io]") {
  Pair pair;
  DatagramWriter writer;
  const std::vector<Bytes> frames = {frame_of(60, 1), frame_of(1514, 2), frame_of(14, 3)};
  const auto batch = batch_of(frames);
  SECTION("the whole batch") {
    const auto outcome = writer.send(pair.a, batch, 0, nullptr, 0);
    CHECK(outcome.sent == 3);
    CHECK(outcome.sent_bytes == 60 + 1514 + 14);
    CHECK(outcome.error == 0);
    CHECK(drain(pair.b) == frames);
  }
  SECTION("from the second frame") {
    const auto outcome = writer.send(pair.a, batch, 1, nullptr, 0);
    CHECK(outcome.sent == 2);
    CHECK(outcome.sent_bytes == 1514 + 14);
    CHECK(outcome.error == 0);
    CHECK(drain(pair.b) == std::vector<Bytes>{frames[1], frames[2]});
  }
  SECTION("nothing left to send") {
    const auto outcome = writer.send(pair.a, batch, 3, nullptr, 0);
    CHECK(outcome.sent == 0);
    CHECK(outcome.error == 0);
    CHECK(drain(pair.b).empty());
  }
  SECTION("a full batch of k_batch_size frames") {
    std::vector<Bytes> many;
    for (std::size_t i = 0; i < k_batch_size; ++i) many.push_back(frame_of(60 + i, static_cast<std::uint8_t>(i)));
    const auto outcome = writer.send(pair.a, batch_of(many), 0, nullptr, 0);
    CHECK(outcome.sent == k_batch_size);
    CHECK(outcome.error == 0);
    CHECK(drain(pair.b) == many);
  }
}

TEST_CASE("DatagramWriter sends to an address on an unconnected socket", "[platform][datagram_io]") {
  TempDir dir;
  const std::string path = dir.path + "/vm.sock";
  const int receiver = bound_socket(path);
  const int sender = bound_socket("");
  const auto to = address_of(path);
  DatagramWriter writer;
  const std::vector<Bytes> frames = {frame_of(60, 5), frame_of(61, 6)};
  const auto outcome = writer.send(sender, batch_of(frames), 0, &to, sizeof to);
  CHECK(outcome.sent == 2);
  CHECK(outcome.error == 0);
  CHECK(drain(receiver) == frames);
  SECTION("a path whose socket was closed: ECONNREFUSED, nothing sent") {
    ::close(receiver);
    const auto refused = writer.send(sender, batch_of(frames), 0, &to, sizeof to);
    CHECK(refused.sent == 0);
    CHECK(refused.sent_bytes == 0);
    CHECK(refused.error == ECONNREFUSED);
  }
  SECTION("a path that no longer exists: ENOENT") {
    ::close(receiver);
    REQUIRE(::unlink(path.c_str()) == 0);
    const auto missing = writer.send(sender, batch_of(frames), 0, &to, sizeof to);
    CHECK(missing.sent == 0);
    CHECK(missing.error == ENOENT);
  }
  ::close(sender);
}

TEST_CASE("DatagramWriter stops at EAGAIN with the frames before it sent, and sends the rest when called again",
          "[platform][datagram_io]") {
  Pair pair;
  // A small send buffer (ours, set here) holds only a few 1000-byte datagrams until the peer
  // reads, so a batch of 32 cannot all be queued.
  const int small = 4096;
  REQUIRE(::setsockopt(pair.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  std::vector<Bytes> frames;
  for (std::size_t i = 0; i < k_batch_size; ++i) frames.push_back(frame_of(1000, static_cast<std::uint8_t>(i)));
  const auto batch = batch_of(frames);
  DatagramWriter writer;
  const auto first = writer.send(pair.a, batch, 0, nullptr, 0);
  REQUIRE(first.error == EAGAIN);
  REQUIRE(first.sent > 0);
  REQUIRE(first.sent < k_batch_size);
  CHECK(first.sent_bytes == first.sent * 1000);
  // Exactly the frames reported sent arrived, in order; none of the rest.
  std::vector<Bytes> received = drain(pair.b);
  CHECK(received == std::vector<Bytes>(frames.begin(), frames.begin() + static_cast<std::ptrdiff_t>(first.sent)));
  // The caller resumes from the first unsent frame; with the peer reading, all arrive.
  std::size_t next = first.sent;
  for (int attempt = 0; next < k_batch_size && attempt < 1000; ++attempt) {
    const auto more = writer.send(pair.a, batch, next, nullptr, 0);
    CHECK((more.error == 0 || more.error == EAGAIN));
    next += more.sent;
    const auto chunk = drain(pair.b);
    received.insert(received.end(), chunk.begin(), chunk.end());
  }
  CHECK(received == frames);
}

TEST_CASE("DatagramWriter stops at a frame too large for the socket (EMSGSIZE)", "[platform][datagram_io]") {
  Pair pair;
  const int small = 4096;
  REQUIRE(::setsockopt(pair.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  const std::vector<Bytes> frames = {frame_of(60, 1), frame_of(65'000, 2), frame_of(62, 3)};
  const auto batch = batch_of(frames);
  DatagramWriter writer;
  const auto outcome = writer.send(pair.a, batch, 0, nullptr, 0);
  CHECK(outcome.sent == 1);
  CHECK(outcome.sent_bytes == 60);
  CHECK(outcome.error == EMSGSIZE);
  // The caller skips the oversized frame and goes on.
  const auto rest = writer.send(pair.a, batch, 2, nullptr, 0);
  CHECK(rest.sent == 1);
  CHECK(rest.error == 0);
  CHECK(drain(pair.b) == std::vector<Bytes>{frames[0], frames[2]});
}

TEST_CASE("DatagramWriter: the connected peer closed is ECONNREFUSED, nothing sent", "[platform][datagram_io]") {
  Pair pair;
  ::close(pair.b);
  pair.b = -1;
  DatagramWriter writer;
  const auto outcome = writer.send(pair.a, batch_of({frame_of(60, 1), frame_of(60, 2)}), 0, nullptr, 0);
  CHECK(outcome.sent == 0);
  CHECK(outcome.sent_bytes == 0);
  CHECK(outcome.error == ECONNREFUSED);
}
