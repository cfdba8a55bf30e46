// Tests of squib/relay/attachment.hpp on a real loop and real sockets: a VmPort bound in a
// temporary directory, a SOCK_DGRAM client playing the VMM, and a RecordingBackend — the
// test's own Backend, which keeps a copy of every batch it is sent, delivers frames to the
// VM through context.to_vm and stops asynchronously, on the loop, like a real one.
//
// What they prove: the VM's own frames reach the backend with their exact bytes, one batch
// per wakeup; frames that fail the policy (relay/source_guard.hpp: source MAC, ARP sender,
// the guest's IPv4 once set_guest_ipv4 is called) are counted under their reason and never
// reach the backend; the backend's frames reach the VM socket exactly; while no backend is
// set every frame is backend_down; stop() closes the VM socket at once, stops the backend
// once and calls done once, when the backend is done. Every test ends with the loop run dry
// and uv_loop_close() == 0 (style.md item 11).

#include <squib/relay/attachment.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <uv.h>

#include "support/catch.hpp"
#include "support/temp_dir.hpp"
#include "unit/bytes.hpp"

namespace {

using Bytes = std::vector<std::byte>;
using squib::backend::Backend;
using squib::backend::BackendContext;
using squib::backend::BackendState;
using squib::core::DropReason;
using squib::core::FrameBatch;
using squib::core::MacAddress;
using squib::relay::Attachment;
using squib::relay::AttachmentPolicy;
using squib::relay::VmPort;
using squib::relay::VmPortConfig;
using squib::test::bytes;

// The guest: MAC 02:00:00:00:00:0a, address 192.168.105.23 (as in source_guard_test.cpp).
const MacAddress k_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
constexpr std::uint32_t k_ip = 0xc0a86917;  // 192.168.105.23
constexpr std::size_t k_max_frame = 1518;

Bytes operator+(Bytes head, const Bytes& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// Ethernet header to the gateway 02:aa:aa:aa:aa:01 from 02:00:00:00:00:<src_last>
// (0x0a = the guest).
Bytes ethernet(unsigned src_last, unsigned type_hi, unsigned type_lo) {
  return bytes({0x02, 0xaa, 0xaa, 0xaa, 0xaa, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, src_last, type_hi, type_lo});
}

// RFC 791 IPv4 header + ICMP echo request from a.b.c.d to 192.168.105.1, from the guest's MAC.
Bytes icmp_from(unsigned a, unsigned b, unsigned c, unsigned d) {
  return ethernet(0x0a, 0x08, 0x00) + bytes({0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00,  //
                                             a,    b,    c,    d,     // source
                                             0xc0, 0xa8, 0x69, 0x01,  // destination
                                             0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01});
}
Bytes icmp_from_own() { return icmp_from(0xc0, 0xa8, 0x69, 0x17); }
Bytes icmp_from_other() { return icmp_from(0xc0, 0xa8, 0x69, 0x63); }

// RFC 2131 §4.1 DHCPDISCOVER: 0.0.0.0:68 → 255.255.255.255:67 (UDP, not a fragment).
Bytes dhcp_discover() {
  return bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x00}) +
         bytes({0x45, 0x10, 0x01, 0x48, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,  //
                0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,                          //
                0x00, 0x44, 0x00, 0x43, 0x01, 0x34, 0x00, 0x00,                          // UDP 68 → 67
                0x01, 0x01, 0x06, 0x00});
}

// RFC 826 ARP request for 192.168.105.1 from the guest's Ethernet MAC, sender hardware
// address 02:00:00:00:00:<sha_last>, sender protocol address spa.
Bytes arp(unsigned sha_last, unsigned s0, unsigned s1, unsigned s2, unsigned s3) {
  return bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x06}) +
         bytes({0x00, 0x01, 0x08, 0x00, 0x06, 0x04,     0x00, 0x01,                //
                0x02, 0x00, 0x00, 0x00, 0x00, sha_last, s0,   s1,   s2,   s3,      // sender
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00,     0xc0, 0xa8, 0x69, 0x01});  // target
}
Bytes arp_from_own() { return arp(0x0a, 0xc0, 0xa8, 0x69, 0x17); }
Bytes arp_from_other_ip() { return arp(0x0a, 0xc0, 0xa8, 0x69, 0x63); }
Bytes arp_probe() { return arp(0x0a, 0, 0, 0, 0); }  // RFC 5227 §2.1.1

// IPv6 (0x86dd): a bare header (next header 59, none) from the guest's link-local address
// fe80::ff:fe00:a (EUI-64 of 02:00:00:00:00:0a) to ff02::1; 802.1Q-tagged IPv4 (0x8100).
Bytes ipv6_frame() {
  return ethernet(0x0a, 0x86, 0xdd) + bytes({0x60, 0,    0, 0, 0, 0, 59, 255,                                   //
                                             0xfe, 0x80, 0, 0, 0, 0, 0,  0,   0, 0, 0, 0xff, 0xfe, 0, 0, 0x0a,  //
                                             0xff, 0x02, 0, 0, 0, 0, 0,  0,   0, 0, 0, 0,    0,    0, 0, 0x01});
}
Bytes vlan_frame() { return ethernet(0x0a, 0x81, 0x00) + bytes({0x00, 0x05, 0x08, 0x00}) + icmp_from_other(); }

// A frame from the network for the VM: any source, `size` bytes, a pattern from `seed`.
Bytes network_frame(std::size_t size, std::uint8_t seed) {
  Bytes frame(size);
  for (std::size_t i = 0; i < size; ++i) frame[i] = static_cast<std::byte>((seed + i) & 0xffU);
  return frame;
}

std::size_t total_size(const std::vector<Bytes>& frames) {
  std::size_t total = 0;
  for (const auto& frame : frames) total += frame.size();
  return total;
}

FrameBatch batch_of(const std::vector<Bytes>& frames) {
  FrameBatch batch;
  for (const auto& frame : frames) batch.push(frame);
  return batch;
}

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// The VMM stand-in: a non-blocking datagram socket bound at `bind_path`, sending to the port.
struct Client {
  int fd = -1;
  sockaddr_un to;

  Client(const std::string& bind_path, const std::string& port_path) : to(address_of(port_path)) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const auto addr = address_of(bind_path);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~Client() { ::close(fd); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // sendto()'s result: the byte count, or -1 with errno set.
  ssize_t try_send(const Bytes& datagram) const {
    return ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  // At most 10 datagrams between two loop turns: net.unix.max_dgram_qlen (default 10)
  // bounds the port's queue for unconnected senders.
  void sends(const std::vector<Bytes>& datagrams) const {
    for (const auto& datagram : datagrams) REQUIRE(try_send(datagram) == static_cast<ssize_t>(datagram.size()));
  }
  // Every datagram waiting for the VM right now.
  std::vector<Bytes> receives() const {
    std::vector<Bytes> out;
    std::byte buffer[2048];
    for (;;) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buffer, buffer + n);
    }
    return out;
  }
};

// The test's backend. send() keeps a copy of each batch and counts it in context.stats as
// every backend does for what it writes (backend.hpp: the backend counts from_vm). deliver()
// plays the network: a batch for the VM through context.to_vm. stop() closes the backend's
// one libuv handle and runs `done` from its close callback — on the loop, after stop()
// returned, as a backend with handles and children does.
class RecordingBackend final : public Backend {
 public:
  explicit RecordingBackend(BackendContext context) : m_context(std::move(context)) {
    m_resource = new Resource;
    REQUIRE(uv_idle_init(m_context.loop, &m_resource->handle) == 0);
    m_resource->handle.data = m_resource;
  }
  ~RecordingBackend() override { release(nullptr); }
  RecordingBackend(const RecordingBackend&) = delete;
  RecordingBackend& operator=(const RecordingBackend&) = delete;

  void start(Done ready) override {
    m_state = BackendState::running;
    ready({});
  }
  void send(const FrameBatch& from_vm) override {
    std::vector<Bytes>& batch = batches.emplace_back();
    for (const auto& frame : from_vm.view()) batch.emplace_back(frame.begin(), frame.end());
    m_context.stats->from_vm.add_batch(from_vm.count, from_vm.total_bytes());
  }
  void stop(std::function<void()> done) override {
    ++stops;
    m_state = BackendState::stopping;
    release(std::move(done));
  }
  [[nodiscard]] BackendState state() const override { return m_state; }

  void deliver(const std::vector<Bytes>& frames) const { m_context.to_vm->consume(batch_of(frames)); }

  // Every frame it was sent, in order, across batches.
  [[nodiscard]] std::vector<Bytes> frames() const {
    std::vector<Bytes> out;
    for (const auto& batch : batches) out.insert(out.end(), batch.begin(), batch.end());
    return out;
  }

  std::vector<std::vector<Bytes>> batches;
  int stops = 0;

 private:
  struct Resource {
    uv_idle_t handle{};
    std::function<void()> on_closed;
  };
  void release(std::function<void()> then) {
    Resource* resource = std::exchange(m_resource, nullptr);
    if (resource == nullptr) return;
    resource->on_closed = std::move(then);
    uv_close(reinterpret_cast<uv_handle_t*>(&resource->handle), [](uv_handle_t* handle) {
      auto* closed = static_cast<Resource*>(handle->data);
      auto on_closed = std::move(closed->on_closed);
      delete closed;
      if (on_closed) on_closed();
    });
  }

  BackendContext m_context;
  BackendState m_state = BackendState::starting;
  Resource* m_resource = nullptr;
};

// A loop, a run directory, an attachment "vm1" with its port at <dir>/vm1.sock and the VMM
// at <dir>/qemu.sock. The backend is added by with_backend() (the registry sets it only
// once the factory has chosen one). On destruction the attachment is destroyed, the loop
// run dry and uv_loop_close() required to be 0.
struct Fixture {
  uv_loop_t loop{};
  squib::test::TempDir dir;
  std::unique_ptr<Attachment> attachment;
  VmPort* port = nullptr;
  RecordingBackend* backend = nullptr;
  std::unique_ptr<Client> vm;

  explicit Fixture(AttachmentPolicy policy = {k_mac, true, std::nullopt}) {
    REQUIRE(uv_loop_init(&loop) == 0);
    attachment = std::make_unique<Attachment>("vm1", policy);
    VmPortConfig config;
    config.path = dir.file("vm1.sock");
    config.max_frame = k_max_frame;
    config.uid = ::getuid();
    config.gid = ::getgid();
    auto opened = VmPort::open(&loop, config, attachment->stats(), *attachment);
    REQUIRE(opened.ok());
    port = opened.value().get();
    attachment->set_port(std::move(opened.value()));
    vm = std::make_unique<Client>(dir.file("qemu.sock"), config.path);
  }
  ~Fixture() {
    vm.reset();
    attachment.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  RecordingBackend& with_backend() {
    BackendContext context;
    context.loop = &loop;
    context.name = "vm1";
    context.mac = k_mac;
    context.max_frame = k_max_frame;
    context.to_vm = port;
    context.stats = &attachment->stats();
    auto made = std::make_unique<RecordingBackend>(std::move(context));
    backend = made.get();
    attachment->set_backend(std::move(made));
    return *backend;
  }

  [[nodiscard]] const squib::core::AttachmentStats& stats() const { return attachment->stats(); }
  // Frames of the VM the attachment has dealt with: passed to the backend or dropped.
  [[nodiscard]] std::size_t accounted() const {
    return (backend != nullptr ? backend->frames().size() : 0) + stats().total_drops();
  }
  // The VM sends `frames`, then the loop turns until all of them are accounted for (bounded:
  // they are already queued on the port's socket, so the first turn reads them).
  void vm_sends(const std::vector<Bytes>& frames) {
    const std::size_t target = accounted() + frames.size();
    vm->sends(frames);
    for (int turns = 0; accounted() < target && turns < 100; ++turns) uv_run(&loop, UV_RUN_NOWAIT);
    REQUIRE(accounted() == target);
  }
};

}  // namespace

TEST_CASE("Attachment hands the VM's own frames to the backend with their exact bytes, one batch per wakeup",
          "[relay][attachment]") {
  Fixture fixture;
  auto& backend = fixture.with_backend();
  // No guest address known yet: only the MAC checks apply, so any IPv4 source, any ARP
  // sender address and a VLAN tag pass.
  const std::vector<Bytes> first = {icmp_from_own(), icmp_from_other(), arp_from_other_ip(), ipv6_frame(),
                                    vlan_frame()};
  fixture.vm_sends(first);
  CHECK(backend.batches == std::vector<std::vector<Bytes>>{first});
  const std::vector<Bytes> second = {dhcp_discover(), arp_from_own()};
  fixture.vm_sends(second);
  CHECK(backend.batches == std::vector<std::vector<Bytes>>{first, second});
  CHECK(fixture.stats().from_vm.frames == 7);
  CHECK(fixture.stats().from_vm.bytes == total_size(first) + total_size(second));
  CHECK(fixture.stats().from_vm.batches == 2);
  CHECK(fixture.stats().total_drops() == 0);
  CHECK(fixture.stats().to_vm.frames == 0);
}

TEST_CASE("Attachment drops frames with another source MAC or ARP sender as spoofed_mac, never sent on",
          "[relay][attachment]") {
  Fixture fixture;
  auto& backend = fixture.with_backend();
  Bytes foreign_source = icmp_from_own();
  foreign_source[11] = std::byte{0x0b};  // Ethernet source 02:00:00:00:00:0b
  const Bytes foreign_arp_sender = arp(0x0b, 0xc0, 0xa8, 0x69, 0x17);
  Bytes short_arp = arp_from_own();
  short_arp.resize(14 + 17);  // ends inside the sender protocol address: cannot be verified
  SECTION("in a batch with good frames: the good ones go on, in order, in one batch") {
    fixture.vm_sends({icmp_from_own(), foreign_source, foreign_arp_sender, ipv6_frame(), short_arp});
    CHECK(backend.batches == std::vector<std::vector<Bytes>>{{icmp_from_own(), ipv6_frame()}});
    CHECK(fixture.stats().dropped(DropReason::spoofed_mac) == 3);
    CHECK(fixture.stats().total_drops() == 3);
    CHECK(fixture.stats().from_vm.frames == 2);
    CHECK(fixture.stats().from_vm.bytes == icmp_from_own().size() + ipv6_frame().size());
    CHECK(fixture.stats().from_vm.batches == 1);
  }
  SECTION("a wakeup with only spoofed frames: the backend is not called at all") {
    fixture.vm_sends({foreign_source, foreign_arp_sender});
    CHECK(backend.batches.empty());
    CHECK(fixture.stats().dropped(DropReason::spoofed_mac) == 2);
    CHECK(fixture.stats().from_vm.frames == 0);
    CHECK(fixture.stats().from_vm.batches == 0);
  }
  SECTION("anti-spoofing off: the same frames pass unchanged") {
    Fixture open({k_mac, false, k_ip});
    auto& open_backend = open.with_backend();
    const std::vector<Bytes> frames = {foreign_source, foreign_arp_sender, short_arp, icmp_from_other()};
    open.vm_sends(frames);
    CHECK(open_backend.batches == std::vector<std::vector<Bytes>>{frames});
    CHECK(open.stats().total_drops() == 0);
  }
}

TEST_CASE("Attachment: once the guest's IPv4 address is set, IPv4 and ARP from another are spoofed_ip",
          "[relay][attachment]") {
  Fixture fixture;
  auto& backend = fixture.with_backend();
  fixture.vm_sends({icmp_from_other()});
  REQUIRE(backend.frames() == std::vector<Bytes>{icmp_from_other()});

  fixture.attachment->set_guest_ipv4(k_ip);
  CHECK(fixture.attachment->policy().ipv4 == k_ip);
  // What the guest may send: its own address, DHCP from 0.0.0.0, ARP naming itself or an
  // RFC 5227 probe, IPv6.
  const std::vector<Bytes> allowed = {icmp_from_own(), dhcp_discover(), arp_from_own(), arp_probe(), ipv6_frame()};
  fixture.vm_sends(allowed);
  CHECK(backend.batches == std::vector<std::vector<Bytes>>{{icmp_from_other()}, allowed});
  // What it may not: another IPv4 source, ICMP from 0.0.0.0 (not DHCP), ARP naming another
  // address, and a VLAN tag that would carry IPv4 past the check.
  fixture.vm_sends({icmp_from_other(), icmp_from(0, 0, 0, 0), arp_from_other_ip(), vlan_frame()});
  CHECK(backend.batches.size() == 2);
  CHECK(fixture.stats().dropped(DropReason::spoofed_ip) == 4);
  CHECK(fixture.stats().total_drops() == 4);
  CHECK(fixture.stats().from_vm.frames == 6);
  CHECK(fixture.stats().from_vm.bytes == icmp_from_other().size() + total_size(allowed));
  CHECK(fixture.stats().from_vm.batches == 2);

  SECTION("set back to unknown: only the MAC checks apply again") {
    fixture.attachment->set_guest_ipv4(std::nullopt);
    CHECK_FALSE(fixture.attachment->policy().ipv4);
    fixture.vm_sends({icmp_from_other(), arp_from_other_ip()});
    CHECK(backend.batches.back() == std::vector<Bytes>{icmp_from_other(), arp_from_other_ip()});
    CHECK(fixture.stats().dropped(DropReason::spoofed_ip) == 4);
  }
  SECTION("an address given in the policy at construction applies from the first frame") {
    Fixture known({k_mac, true, k_ip});
    auto& known_backend = known.with_backend();
    known.vm_sends({icmp_from_other(), icmp_from_own()});
    CHECK(known_backend.batches == std::vector<std::vector<Bytes>>{{icmp_from_own()}});
    CHECK(known.stats().dropped(DropReason::spoofed_ip) == 1);
  }
}

TEST_CASE("Attachment without a backend counts every frame of the VM as backend_down", "[relay][attachment]") {
  Fixture fixture({k_mac, true, k_ip});
  Bytes foreign_source = icmp_from_own();
  foreign_source[11] = std::byte{0x0b};
  // No backend yet (the factory has not answered): the whole batch is backend_down, before
  // and instead of the policy — a spoofed frame is not also counted as spoofed.
  fixture.vm_sends({icmp_from_own(), foreign_source, icmp_from_other()});
  CHECK(fixture.stats().dropped(DropReason::backend_down) == 3);
  CHECK(fixture.stats().total_drops() == 3);
  CHECK(fixture.stats().from_vm.frames == 0);
  CHECK(fixture.stats().from_vm.batches == 0);
  SECTION("once a backend is set, the policy applies and frames reach it") {
    auto& backend = fixture.with_backend();
    fixture.vm_sends({icmp_from_own(), foreign_source, icmp_from_other()});
    CHECK(backend.batches == std::vector<std::vector<Bytes>>{{icmp_from_own()}});
    CHECK(fixture.stats().dropped(DropReason::backend_down) == 3);
    CHECK(fixture.stats().dropped(DropReason::spoofed_mac) == 1);
    CHECK(fixture.stats().dropped(DropReason::spoofed_ip) == 1);
    CHECK(fixture.stats().from_vm.frames == 1);
  }
  SECTION("stop() closes the VM socket and calls done at once") {
    int done = 0;
    fixture.attachment->stop([&done] { ++done; });
    CHECK(done == 1);
    struct stat st {};
    CHECK(::lstat(fixture.dir.file("vm1.sock").c_str(), &st) == -1);
    uv_run(&fixture.loop, UV_RUN_DEFAULT);
    CHECK(done == 1);
  }
}

TEST_CASE("Attachment delivers the backend's frames to the VM socket exactly", "[relay][attachment]") {
  Fixture fixture;
  auto& backend = fixture.with_backend();
  SECTION("before the VM has sent anything: no_peer, nothing sent") {
    backend.deliver({network_frame(60, 1), network_frame(60, 2)});
    CHECK(fixture.stats().dropped(DropReason::no_peer) == 2);
    CHECK(fixture.stats().to_vm.frames == 0);
    CHECK(fixture.vm->receives().empty());
  }
  SECTION("after the VM's first frame: each frame as one datagram, any source, unfiltered") {
    fixture.vm_sends({arp_from_own()});
    // The network's frames carry other MACs and addresses; the policy is for the VM's frames.
    const std::vector<Bytes> out = {network_frame(60, 10), network_frame(k_max_frame, 11), network_frame(14, 12)};
    backend.deliver(out);
    CHECK(fixture.vm->receives() == out);
    backend.deliver({icmp_from_other()});
    CHECK(fixture.vm->receives() == std::vector<Bytes>{icmp_from_other()});
    CHECK(fixture.stats().to_vm.frames == 4);
    CHECK(fixture.stats().to_vm.bytes == total_size(out) + icmp_from_other().size());
    CHECK(fixture.stats().to_vm.batches == 2);
    CHECK(fixture.stats().from_vm.frames == 1);
    CHECK(fixture.stats().from_vm.batches == 1);
    CHECK(fixture.stats().total_drops() == 0);
  }
}

TEST_CASE("Attachment::stop closes the VM socket at once, stops the backend once, then calls done once",
          "[relay][attachment]") {
  Fixture fixture;
  auto& backend = fixture.with_backend();
  fixture.vm_sends({icmp_from_own()});
  REQUIRE(backend.frames().size() == 1);

  int done = 0;
  fixture.attachment->stop([&done] { ++done; });
  CHECK(backend.stops == 1);
  CHECK(backend.state() == BackendState::stopping);
  // The socket file is gone at once; the VM's next frame finds no one.
  struct stat st {};
  const int listed = ::lstat(fixture.dir.file("vm1.sock").c_str(), &st);
  const int list_errno = errno;
  CHECK(listed == -1);
  CHECK(list_errno == ENOENT);
  const ssize_t sent = fixture.vm->try_send(icmp_from_own());
  const int send_errno = errno;
  CHECK(sent == -1);
  CHECK(send_errno == ENOENT);
  // done waits for the backend, whose teardown finishes on the loop.
  CHECK(done == 0);
  for (int turns = 0; done == 0 && turns < 100; ++turns) uv_run(&fixture.loop, UV_RUN_NOWAIT);
  CHECK(done == 1);
  uv_run(&fixture.loop, UV_RUN_DEFAULT);
  CHECK(done == 1);
  CHECK(backend.stops == 1);
  CHECK(backend.frames().size() == 1);
  CHECK(fixture.stats().from_vm.frames == 1);
}
