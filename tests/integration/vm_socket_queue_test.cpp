// A VMM may queue whole batches on its VM socket (platform/vm_socket.hpp): the daemon makes
// VM sockets in a network namespace of its own where net.unix.max_dgram_qlen is 512, so the
// namespace the daemon runs in — here one whose limit this test sets to 10, the kernel's
// default — does not cap a VMM's burst at 10 datagrams.

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"

using namespace squib::test;

TEST_CASE("a VMM queues a 40-frame burst on its socket while the daemon is stopped, and it is read in 2 batches",
          "[integration][vm_socket][root]") {
  REQUIRE(::geteuid() == 0);
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;
    std::ofstream("/proc/sys/net/unix/max_dgram_qlen") << "10\n";  // the daemon's namespace: the default
    daemon.emplace(dir.path());
    REQUIRE(netns.leave());
  }
  const auto started = daemon->ok("start", echo_start("burst"));
  const std::string mac = started["mac"];
  FakeVmm vm(dir.path() + "/burst.local", started["socket"]);
  vm.send(make_frame(mac, 100, 0));
  REQUIRE(vm.receive().has_value());  // the daemon knows the VMM; the echo child runs

  // With the daemon stopped nothing drains the socket: every datagram the kernel accepts is
  // queued. 40 > 10.
  REQUIRE(::kill(daemon->pid(), SIGSTOP) == 0);
  std::size_t accepted = 0;
  for (std::uint8_t i = 1; i <= 40; ++i) {
    const auto frame = make_frame(mac, 100, i);
    if (::send(vm.fd(), frame.data(), frame.size(), MSG_DONTWAIT) == static_cast<ssize_t>(frame.size())) ++accepted;
  }
  REQUIRE(::kill(daemon->pid(), SIGCONT) == 0);
  CHECK(accepted == 40);

  for (std::uint8_t i = 1; i <= accepted; ++i) {
    const auto echoed = vm.receive();
    REQUIRE(echoed.has_value());
    CHECK(*echoed == make_frame(mac, 100, i));
  }
  const auto stats = stats_of(*daemon, "burst");
  CHECK(stats["from_vm"]["frames"] == 41);
  CHECK(stats["from_vm"]["batches"] == 3);  // the first frame, then 32 + 8
  CHECK(stats["dropped_total"] == 0);
}
