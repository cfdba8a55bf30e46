// Tests of squib/relay/vm_port.hpp with a real VMM stand-in: a SOCK_DGRAM client bound in a
// temporary directory that sends frames to the port's socket and reads what the port sends.
// Frames in reach the sink exactly (runts, oversized datagrams and the vfkit handshake are
// counted, not forwarded); frames out reach the most recent named sender; a peer that is
// gone is forgotten (peer_gone, then no_peer until it sends again); a VM that does not read
// costs counted vm_full drops, never a blocked loop.

#include <squib/relay/vm_port.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
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
using squib::relay::VmPort;
using squib::relay::VmPortConfig;

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// A VMM stand-in: a non-blocking datagram socket, bound at `path` unless it is empty.
struct Client {
  int fd = -1;
  std::string path;
  Client(const std::string& bind_path, const std::string& port_path) : path(bind_path), m_to(address_of(port_path)) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    if (!path.empty()) {
      const auto addr = address_of(path);
      REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    }
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  void sends(const Bytes& datagram) const {
    REQUIRE(::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&m_to), sizeof m_to) ==
            static_cast<ssize_t>(datagram.size()));
  }
  // Every datagram waiting for this client right now.
  std::vector<Bytes> receives() const {
    std::vector<Bytes> out;
    std::byte buffer[70'000];
    for (;;) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buffer, buffer + n);
    }
    return out;
  }

private:
  sockaddr_un m_to;
};

// A loop, a temporary run directory and an open port at <dir>/vm.sock. On destruction the
// port is closed, the loop run dry and uv_loop_close() required to be 0.
struct Fixture {
  uv_loop_t loop{};
  std::string dir;
  VmPortConfig config;
  squib::core::AttachmentStats stats;
  Collect from_vm;
  std::unique_ptr<VmPort> port;

  explicit Fixture(int buffer_bytes = 4 * 1024 * 1024) {
    REQUIRE(uv_loop_init(&loop) == 0);
    char templ[] = "/tmp/squib-vmport-XXXXXX";
    REQUIRE(::mkdtemp(templ) != nullptr);
    dir = templ;
    config.path = dir + "/vm.sock";
    config.max_frame = 1518;
    config.uid = ::getuid();
    config.gid = ::getgid();
    config.buffer_bytes = buffer_bytes;
    auto opened = VmPort::open(&loop, config, stats, from_vm);
    REQUIRE(opened.ok());
    port = std::move(opened.value());
  }
  ~Fixture() {
    port.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  std::string client_path(const std::string& name) const { return dir + "/" + name + ".sock"; }
  // Runs the loop until the sink has `count` frames (bounded: the datagrams are already
  // queued, so each turn reads some).
  void turn_until_frames(std::size_t count) {
    for (int turns = 0; from_vm.frames.size() < count && turns < 100; ++turns) uv_run(&loop, UV_RUN_NOWAIT);
  }
  void turn() { uv_run(&loop, UV_RUN_NOWAIT); }
};

}  // namespace

TEST_CASE("VmPort::open binds the socket with its mode and owner, close() removes it", "[relay][vm_port]") {
  Fixture fixture;
  struct stat st {};
  REQUIRE(::lstat(fixture.config.path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == fixture.config.uid);
  CHECK(st.st_gid == fixture.config.gid);
  CHECK(fixture.port->path() == fixture.config.path);
  CHECK_FALSE(fixture.port->peer_connected());
  SECTION("group access: 0660") {
    VmPortConfig config = fixture.config;
    config.path = fixture.dir + "/group.sock";
    config.group_access = true;
    auto opened = VmPort::open(&fixture.loop, config, fixture.stats, fixture.from_vm);
    REQUIRE(opened.ok());
    REQUIRE(::lstat(config.path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0660);
  }
  SECTION("close() unlinks the path") {
    fixture.port->close();
    CHECK(::lstat(fixture.config.path.c_str(), &st) == -1);
    CHECK(errno == ENOENT);
  }
}

TEST_CASE("VmPort::open refuses a taken path and a path too long for sun_path", "[relay][vm_port]") {
  Fixture fixture;
  SECTION("the path exists") {
    auto opened = VmPort::open(&fixture.loop, fixture.config, fixture.stats, fixture.from_vm);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == EADDRINUSE);
    CHECK(opened.error().message == "bind " + fixture.config.path + ": Address already in use");
  }
  SECTION("108 bytes: never truncated") {
    VmPortConfig config = fixture.config;
    config.path = fixture.dir + "/" + std::string(sizeof(sockaddr_un::sun_path) - fixture.dir.size() - 1, 'x');
    REQUIRE(config.path.size() == sizeof(sockaddr_un::sun_path));
    auto opened = VmPort::open(&fixture.loop, config, fixture.stats, fixture.from_vm);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == ENAMETOOLONG);
    CHECK(opened.error().message == "socket path longer than 107 bytes: " + config.path);
  }
}

TEST_CASE("VmPort hands the VM's frames to the sink exactly, counting what it drops", "[relay][vm_port]") {
  Fixture fixture;
  Client vm(fixture.client_path("qemu"), fixture.config.path);
  vm.sends(frame_of(60, 1));
  vm.sends(frame_of(13, 2));    // runt
  vm.sends(frame_of(1519, 3));  // one byte over max_frame: oversize
  vm.sends(Bytes{std::byte{'V'}, std::byte{'F'}, std::byte{'K'}, std::byte{'T'}});  // vfkit handshake
  vm.sends(frame_of(14, 4));
  vm.sends(frame_of(1518, 5));
  fixture.turn_until_frames(3);
  CHECK(fixture.from_vm.frames == std::vector<Bytes>{frame_of(60, 1), frame_of(14, 4), frame_of(1518, 5)});
  CHECK(fixture.from_vm.batch_sizes == std::vector<std::size_t>{3});
  CHECK(fixture.stats.dropped(DropReason::runt) == 1);
  CHECK(fixture.stats.dropped(DropReason::oversize) == 1);
  CHECK(fixture.stats.handshakes == 1);
  CHECK(fixture.stats.total_drops() == 2);
  CHECK(fixture.port->peer_connected());
}

TEST_CASE("VmPort reads at most k_batch_size frames per wakeup and comes back for the rest", "[relay][vm_port]") {
  // A connected pair (VmPort::adopt): net.unix.max_dgram_qlen limits only unconnected
  // senders, so more than one batch can wait here without assuming any queue depth.
  uv_loop_t loop{};
  REQUIRE(uv_loop_init(&loop) == 0);
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
  squib::core::AttachmentStats stats;
  Collect from_vm;
  {
    auto adopted = VmPort::adopt(&loop, squib::core::Fd(pair[0]), 1518, stats, from_vm);
    REQUIRE(adopted.ok());
    const std::size_t total = squib::core::k_batch_size + 8;
    std::vector<Bytes> sent;
    for (std::size_t i = 0; i < total; ++i) {
      sent.push_back(frame_of(60, static_cast<std::uint8_t>(i)));
      REQUIRE(::send(pair[1], sent.back().data(), 60, 0) == 60);
    }
    for (int turns = 0; from_vm.frames.size() < total && turns < 100; ++turns) uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(from_vm.frames == sent);
    CHECK(from_vm.batch_sizes == std::vector<std::size_t>{squib::core::k_batch_size, 8});
  }
  ::close(pair[1]);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("VmPort sends frames for the VM to its most recent named sender", "[relay][vm_port]") {
  Fixture fixture;
  SECTION("before the VM has sent anything: no_peer") {
    fixture.port->consume(batch_of({frame_of(60, 1), frame_of(60, 2)}));
    CHECK(fixture.stats.dropped(DropReason::no_peer) == 2);
    CHECK(fixture.stats.to_vm.frames == 0);
  }
  SECTION("after its first frame: exactly the batch, one datagram per frame") {
    Client vm(fixture.client_path("qemu"), fixture.config.path);
    vm.sends(frame_of(60, 1));
    fixture.turn_until_frames(1);
    const std::vector<Bytes> out = {frame_of(60, 10), frame_of(1518, 11), frame_of(14, 12)};
    fixture.port->consume(batch_of(out));
    CHECK(vm.receives() == out);
    CHECK(fixture.stats.to_vm.frames == 3);
    CHECK(fixture.stats.to_vm.bytes == 60 + 1518 + 14);
    CHECK(fixture.stats.to_vm.batches == 1);
    CHECK(fixture.stats.total_drops() == 0);
    fixture.port->consume(squib::core::FrameBatch{});  // an empty batch is nothing
    CHECK(fixture.stats.to_vm.batches == 1);
  }
  SECTION("a second VMM that sends takes over, and the first gets nothing more") {
    Client first(fixture.client_path("first"), fixture.config.path);
    Client second(fixture.client_path("second"), fixture.config.path);
    first.sends(frame_of(60, 1));
    fixture.turn_until_frames(1);
    fixture.port->consume(batch_of({frame_of(60, 20)}));
    CHECK(first.receives() == std::vector<Bytes>{frame_of(60, 20)});
    second.sends(frame_of(60, 2));
    fixture.turn_until_frames(2);
    fixture.port->consume(batch_of({frame_of(60, 21)}));
    CHECK(second.receives() == std::vector<Bytes>{frame_of(60, 21)});
    CHECK(first.receives().empty());
    // And back again: the latest sender wins each time.
    first.sends(frame_of(60, 3));
    fixture.turn_until_frames(3);
    fixture.port->consume(batch_of({frame_of(60, 22)}));
    CHECK(first.receives() == std::vector<Bytes>{frame_of(60, 22)});
    CHECK(second.receives().empty());
  }
  SECTION("an unnamed sender's frames are forwarded but it does not become the peer") {
    Client named(fixture.client_path("qemu"), fixture.config.path);
    Client unnamed("", fixture.config.path);
    named.sends(frame_of(60, 1));
    unnamed.sends(frame_of(60, 2));
    fixture.turn_until_frames(2);
    CHECK(fixture.from_vm.frames == std::vector<Bytes>{frame_of(60, 1), frame_of(60, 2)});
    fixture.port->consume(batch_of({frame_of(60, 30)}));
    CHECK(named.receives() == std::vector<Bytes>{frame_of(60, 30)});
    CHECK(unnamed.receives().empty());
  }
  SECTION("an unnamed sender alone leaves the port without a peer") {
    Client unnamed("", fixture.config.path);
    unnamed.sends(frame_of(60, 2));
    fixture.turn_until_frames(1);
    CHECK(fixture.from_vm.frames.size() == 1);
    CHECK_FALSE(fixture.port->peer_connected());
    fixture.port->consume(batch_of({frame_of(60, 30)}));
    CHECK(fixture.stats.dropped(DropReason::no_peer) == 1);
  }
}

TEST_CASE("VmPort forgets a peer that is gone until it sends again", "[relay][vm_port]") {
  Fixture fixture;
  const std::string path = fixture.client_path("qemu");
  auto vm = std::make_unique<Client>(path, fixture.config.path);
  vm->sends(frame_of(60, 1));
  fixture.turn_until_frames(1);
  REQUIRE(fixture.port->peer_connected());
  SECTION("its socket closed but still at its path: ECONNREFUSED") {
    vm->close();
  }
  SECTION("its socket file removed: ENOENT") {
    vm->close();
    REQUIRE(::unlink(path.c_str()) == 0);
  }
  fixture.port->consume(batch_of({frame_of(60, 10), frame_of(60, 11)}));
  CHECK(fixture.stats.dropped(DropReason::peer_gone) == 2);
  CHECK_FALSE(fixture.port->peer_connected());
  fixture.port->consume(batch_of({frame_of(60, 12)}));
  CHECK(fixture.stats.dropped(DropReason::no_peer) == 1);
  CHECK(fixture.stats.to_vm.frames == 0);
  // A restarted VMM at the same path is the peer again from its first frame.
  vm.reset();
  ::unlink(path.c_str());
  Client again(path, fixture.config.path);
  again.sends(frame_of(60, 2));
  fixture.turn_until_frames(2);
  CHECK(fixture.port->peer_connected());
  fixture.port->consume(batch_of({frame_of(60, 13)}));
  CHECK(again.receives() == std::vector<Bytes>{frame_of(60, 13)});
  CHECK(fixture.stats.to_vm.frames == 1);
  CHECK(fixture.stats.dropped(DropReason::peer_gone) == 2);
  CHECK(fixture.stats.dropped(DropReason::no_peer) == 1);
}

TEST_CASE("VmPort: a VM that does not read costs counted vm_full drops, never a block", "[relay][vm_port]") {
  Fixture fixture;
  Client vm(fixture.client_path("qemu"), fixture.config.path);
  vm.sends(frame_of(60, 1));
  fixture.turn_until_frames(1);
  // Send until the first vm_full (the VM's queue is bounded by net.unix.max_dgram_qlen and
  // its buffers; the test does not assume either), bounded.
  std::vector<Bytes> sent;
  for (std::size_t round = 0; round < 10'000 && fixture.stats.dropped(DropReason::vm_full) == 0; ++round) {
    std::vector<Bytes> batch;
    for (std::size_t i = 0; i < 4; ++i) batch.push_back(frame_of(100, static_cast<std::uint8_t>(round * 4 + i)));
    sent.insert(sent.end(), batch.begin(), batch.end());
    fixture.port->consume(batch_of(batch));
  }
  REQUIRE(fixture.stats.dropped(DropReason::vm_full) > 0);
  const auto received = vm.receives();
  REQUIRE(received.size() < sent.size());
  CHECK(received == std::vector<Bytes>(sent.begin(), sent.begin() + static_cast<std::ptrdiff_t>(received.size())));
  CHECK(received.size() + fixture.stats.dropped(DropReason::vm_full) == sent.size());
  CHECK(fixture.stats.to_vm.frames == received.size());
  CHECK(fixture.stats.total_drops() == fixture.stats.dropped(DropReason::vm_full));
  // The peer is kept: once the VM reads again, frames reach it.
  CHECK(fixture.port->peer_connected());
  fixture.port->consume(batch_of({frame_of(60, 99)}));
  CHECK(vm.receives() == std::vector<Bytes>{frame_of(60, 99)});
}

TEST_CASE("VmPort skips a frame too large for its socket (oversize) and sends the rest", "[relay][vm_port]") {
  Fixture fixture(4096);  // our own buffers, small: a datagram may be at most about twice this
  Client vm(fixture.client_path("qemu"), fixture.config.path);
  vm.sends(frame_of(60, 1));
  fixture.turn_until_frames(1);
  const Bytes huge = frame_of(65'000, 2);
  fixture.port->consume(batch_of({frame_of(60, 10), huge, frame_of(60, 11)}));
  CHECK(vm.receives() == std::vector<Bytes>{frame_of(60, 10), frame_of(60, 11)});
  CHECK(fixture.stats.dropped(DropReason::oversize) == 1);
  CHECK(fixture.stats.to_vm.frames == 2);
}

TEST_CASE("VmPort::adopt serves a connected socket without addresses", "[relay][vm_port]") {
  uv_loop_t loop{};
  REQUIRE(uv_loop_init(&loop) == 0);
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
  int vm = pair[1];
  squib::core::AttachmentStats stats;
  Collect from_vm;
  {
    auto adopted = VmPort::adopt(&loop, squib::core::Fd(pair[0]), 1518, stats, from_vm);
    REQUIRE(adopted.ok());
    auto port = std::move(adopted.value());
    CHECK(port->peer_connected());  // implicit peer: frames may go out before any come in
    CHECK(port->path().empty());
    port->consume(batch_of({frame_of(60, 1), frame_of(61, 2)}));
    std::byte buffer[2048];
    REQUIRE(::recv(vm, buffer, sizeof buffer, MSG_DONTWAIT) == 60);
    CHECK(Bytes(buffer, buffer + 60) == frame_of(60, 1));
    REQUIRE(::recv(vm, buffer, sizeof buffer, MSG_DONTWAIT) == 61);
    CHECK(Bytes(buffer, buffer + 61) == frame_of(61, 2));
    const Bytes in = frame_of(70, 3);
    REQUIRE(::send(vm, in.data(), in.size(), 0) == 70);
    for (int turns = 0; from_vm.frames.empty() && turns < 100; ++turns) uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(from_vm.frames == std::vector<Bytes>{in});
    CHECK(stats.to_vm.frames == 2);
    SECTION("the VM end closed: peer_gone for each later batch, no block, no error") {
      ::close(vm);
      vm = -1;
      port->consume(batch_of({frame_of(60, 4)}));
      port->consume(batch_of({frame_of(60, 5), frame_of(60, 6)}));
      CHECK(stats.dropped(DropReason::peer_gone) == 3);
      CHECK(stats.errors == 0);
    }
  }
  if (vm >= 0) ::close(vm);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
