// The loop never waits (docs/architecture.md): a host-mode `start` whose nft child is held
// back does not hold anyone else. The daemon runs in a network namespace and a private mount
// namespace made here, where /usr/sbin/nft is a wrapper whose first `nft -f` (the network's
// table) blocks on a FIFO until the test opens it — an nft as slow as the test wants, with
// no sleep anywhere. While it is held, the test asserts that the daemon serves `status` and
// `list` on other connections, answers a second start and a stop of the same name clearly,
// and relays another attachment's frames; then it opens the gate and the start answers.
// Needs root. Network safety: 192.168.105.0/24 exists only inside the test's namespace.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

// Opens the FIFO the wrapper waits on and writes one line: the held nft goes on.
void open_gate(const std::string& fifo) {
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "go\n", 3) == 3);
  ::close(fd);
}

}  // namespace

TEST_CASE("a start held by a slow nft holds nobody else: status, list, frames and clear answers meanwhile",
          "[integration][loop]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its leases under it
  const std::string real_nft = dir.file("nft-real");
  const std::string wrapper = dir.file("nft-slow");
  const std::string gate = dir.file("nft-gate");
  const std::string waiting = dir.file("nft-waiting");
  REQUIRE(std::system(("cp /usr/sbin/nft " + real_nft).c_str()) == 0);
  {
    std::ofstream out(wrapper);
    out << "#!/bin/sh\n"
        << "# The first `nft -f` waits for the test's gate; every other call is nft itself.\n"
        << "if [ \"$1\" = -f ] && mkdir " << dir.file("nft-gated") << " 2>/dev/null; then\n"
        << "  : > " << waiting << "\n"
        << "  read go < " << gate << "\n"
        << "fi\n"
        << "exec " << real_nft << " \"$@\"\n";
  }
  REQUIRE(::chmod(wrapper.c_str(), 0755) == 0);
  REQUIRE(::mkfifo(gate.c_str(), 0600) == 0);

  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;
    daemon.emplace(dir.path(), std::vector<std::string>{},
                   std::vector<std::string>{"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                                            "mount --bind " + wrapper + " /usr/sbin/nft && exec \"$@\"", "sh"});
    REQUIRE(netns.leave());
  }
  const auto flowing = daemon->ok("start", echo_start("flowing"));
  FakeVmm vm(dir.file("flowing.local"), flowing["socket"]);
  REQUIRE(eventually([&] { return child_pid(*daemon, "flowing") > 0; }));

  // The held start, on a connection of its own, from another thread (its call blocks).
  std::optional<squib::proto::Response> held_reply;
  std::thread starter([&] {
    auto client = squib::proto::ControlClient::connect(daemon->control_path(), 60s);
    if (!client) return;
    auto reply = client.value().call("start", {{"name", "h1"}, {"mode", "host"}});
    if (reply) held_reply = reply.value();
  });
  struct Join {
    std::thread& thread;
    std::string gate;
    ~Join() {
      if (!thread.joinable()) return;
      // Release a wrapper still waiting (a failed REQUIRE below), then wait for the caller.
      const int fd = ::open(gate.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) {
        (void)::write(fd, "go\n", 3);
        ::close(fd);
      }
      thread.join();
    }
  } join{starter, gate};
  REQUIRE(eventually([&] { return path_exists(waiting); }, 30s));

  // nft is held now. Everything else is served:
  const auto status = daemon->ok("status");
  CHECK(status["attachments"] == 2);
  const auto listed = daemon->ok("list");
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["name"] == "flowing");
  CHECK(listed[0]["state"] == "running");
  CHECK(listed[1]["name"] == "h1");
  CHECK(listed[1]["state"] == "starting");
  const auto again = daemon->call("start", {{"name", "h1"}, {"mode", "host"}});
  CHECK(again.error_code == -32002);
  CHECK(again.error_message == "attachment 'h1' is already starting");
  const auto stop = daemon->call("stop", {{"name", "h1"}});
  CHECK(stop.error_code == -32007);
  CHECK(stop.error_message == "attachment 'h1' is still starting; ask again once its start has answered");
  for (std::uint8_t seq = 0; seq < 16; ++seq) {
    const auto frame = make_frame(flowing["mac"], 100 + seq, seq);
    vm.send(frame);
    const auto echoed = vm.receive();
    REQUIRE(echoed);
    CHECK(*echoed == frame);
  }
  CHECK_FALSE(held_reply.has_value());  // still held: all of the above happened meanwhile

  open_gate(gate);
  starter.join();
  REQUIRE(held_reply);
  INFO(held_reply->error_message << "\ndaemon log:\n" << daemon->log());
  REQUIRE(held_reply->ok());
  CHECK((*held_reply->result)["network"]["subnet"] == "192.168.105.0/24");
  CHECK(daemon->ok("list")[1]["state"] == "running");
  const auto loop = daemon->ok("status")["loop"];
  WARN("loop during a held nft: worst stall " << loop["max_stall_ms"] << " ms, " << loop["stalls_over_10ms"]
                                              << " stalls over 10 ms");
  daemon->ok("stop", {{"name", "h1"}});
}
