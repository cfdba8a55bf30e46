// TAP I/O both ways (platform/linux/tap_ring.hpp, SQUIB_TAP_IO): the same relayed host-mode
// path — VM A's socket -> squib-netd -> TAP A -> bridge -> TAP B -> squib-netd -> VM B's
// socket — with the io_uring batches forced on, forced off, and forced on while the kernel
// refuses io_uring (sysctl kernel.io_uring_disabled=2, restored): the same frames arrive byte
// for byte each way, and a frame the TAP refuses (its link down: EIO) is a counted drop.
// Network safety: the daemon runs in a network namespace this test creates; addresses are
// those of the network it makes there.

#include <stdlib.h>

#include <fstream>
#include <initializer_list>
#include <optional>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

// SQUIB_TAP_IO for the daemons this test starts (they inherit the environment); restored.
class TapIoEnv {
 public:
  explicit TapIoEnv(const char* value) { ::setenv("SQUIB_TAP_IO", value, 1); }
  ~TapIoEnv() { ::unsetenv("SQUIB_TAP_IO"); }
  TapIoEnv(const TapIoEnv&) = delete;
  TapIoEnv& operator=(const TapIoEnv&) = delete;
};

// kernel.io_uring_disabled (Linux 6.6+) set to `value` for the guard's lifetime, then the
// value it had put back.
class IoUringDisabled {
 public:
  explicit IoUringDisabled(const std::string& value) {
    std::ifstream in(k_path);
    REQUIRE(std::getline(in, m_saved));  // the kernel has the sysctl (6.6+)
    write(value);
  }
  ~IoUringDisabled() { write(m_saved); }
  IoUringDisabled(const IoUringDisabled&) = delete;
  IoUringDisabled& operator=(const IoUringDisabled&) = delete;

 private:
  static constexpr const char* k_path = "/proc/sys/kernel/io_uring_disabled";
  static void write(const std::string& value) {
    std::ofstream out(k_path);
    out << value << '\n';
  }
  std::string m_saved;
};

struct Vm {
  std::string name;
  Mac mac{};
  Ipv4 ip{};
  std::string tap;
  std::optional<FakeVmm> vmm;
};

// A UDP datagram from `from` to `to` whose Ethernet frame is `size` bytes, its payload
// bytes numbered from `seq` (each frame distinguishable).
Bytes udp_frame(const Vm& from, const Vm& to, std::size_t size, std::uint8_t seq) {
  const std::size_t payload = size - 14 - 20 - 8;
  Bytes udp;
  put16(udp, 40000);
  put16(udp, 40001);
  put16(udp, 8 + payload);
  put16(udp, 0);  // no checksum (RFC 768): a bridge does not check it
  for (std::size_t i = 0; i < payload; ++i) udp.push_back(static_cast<std::uint8_t>(seq + i));
  return ipv4(to.mac, from.mac, from.ip, to.ip, 17, udp);
}

// Two relayed host attachments on one network, both ports forwarding, then frames of 60 to
// 1514 bytes each way, one at a time, compared byte for byte; then A's TAP down: A's next
// frame is a counted backend_down drop, not a blocked or dead loop.
void relay_both_ways(DaemonProcess& daemon, const std::string& dir) {
  const auto in_netns = [&](const std::string& command) { return run_in_netns_of(daemon, command); };
  Vm a{"tio-a", {}, {}, {}, {}};
  Vm b{"tio-b", {}, {}, {}, {}};
  for (Vm* vm : {&a, &b}) {
    const auto started = daemon.ok("start", {{"name", vm->name}, {"mode", "host"}});
    vm->mac = parse_mac(started["mac"]);
    vm->ip = parse_ipv4(started["network"]["address"]);
    vm->tap = started["network"]["tap"];
    vm->vmm.emplace(dir + "/" + vm->name + ".local", started["socket"]);
    vm->vmm->send(Bytes{0x00, 0x01});  // a runt: the daemon learns where the VM is
    const std::string name = vm->name;
    CHECK(eventually([&] { return stats_of(daemon, name)["drops"]["runt"] == 1; }));
    CHECK(eventually(
        [&] {
          return in_netns("bridge link show dev " + vm->tap).output.find("state forwarding") != std::string::npos;
        },
        10s));
  }
  std::uint8_t seq = 0;
  for (const std::size_t size : std::initializer_list<std::size_t>{60, 61, 100, 1000, 1513, 1514}) {
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      const Bytes frame = udp_frame(*from, *to, size, ++seq);
      from->vmm->send(frame);
      const auto got = receive_matching(
          *to->vmm, [&](const Bytes& f) { return f == frame; }, 5s);
      INFO(from->name << " -> " << to->name << ", " << size << " bytes");
      CHECK(got.has_value());
    }
  }
  CHECK(stats_of(daemon, "tio-a")["drops"]["backend_down"] == 0);
  REQUIRE(in_netns("ip link set " + a.tap + " down").exit_code == 0);
  a.vmm->send(udp_frame(a, b, 100, ++seq));
  CHECK(eventually([&] { return stats_of(daemon, "tio-a")["drops"]["backend_down"] == 1; }));
  CHECK(daemon.ok("status").contains("version"));  // the loop still answers
}

}  // namespace

TEST_CASE("tap io: io_uring forced on relays frames byte for byte both ways, drops counted", "[integration][tap-io]") {
  TapIoEnv env("uring");
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  relay_both_ways(*daemon, dir.path());
  const std::string log = daemon->log();
  INFO(log);
  CHECK(log.find("TAP I/O: uring (SQUIB_TAP_IO)") != std::string::npos);
  CHECK(log.find("io_uring unavailable") == std::string::npos);
  CHECK(log.find("TAP I/O by read()/write() from now on") == std::string::npos);
}

TEST_CASE("tap io: read()/write() per frame forced relays the same frames, drops counted", "[integration][tap-io]") {
  TapIoEnv env("syscalls");
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  relay_both_ways(*daemon, dir.path());
  const std::string log = daemon->log();
  INFO(log);
  CHECK(log.find("TAP I/O: syscalls (SQUIB_TAP_IO)") != std::string::npos);
}

TEST_CASE("tap io: io_uring refused by the kernel falls back to read()/write(), frames still flow",
          "[integration][tap-io]") {
  TapIoEnv env("uring");
  IoUringDisabled disabled("2");  // io_uring_setup fails with EPERM for every process
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  relay_both_ways(*daemon, dir.path());
  const std::string log = daemon->log();
  INFO(log);
  CHECK(log.find("io_uring unavailable (io_uring_queue_init: Operation not permitted)") != std::string::npos);
}
