// Integration test of `start` with mode userspace and handoff "fd" (issue 17): the real
// daemon starts the real passt (Debian) on a SOCK_STREAM socketpair and hands the other end
// to the client with the reply (SCM_RIGHTS). The test is the VMM: it speaks QEMU's stream
// protocol on that fd (4-byte big-endian length, then the frame) and gets passt's DHCPOFFER
// back directly — no frame passes the daemon. DHCP is answered by passt itself; nothing
// leaves the machine. Needs root and the passt package.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using Catch::Matchers::ContainsSubstring;

namespace {

// The VMM's side of passt's link, as QEMU's -netdev stream speaks it.
class StreamVmm {
 public:
  explicit StreamVmm(int fd) : m_fd(fd) {}
  ~StreamVmm() {
    if (m_fd >= 0) ::close(m_fd);
  }
  StreamVmm(const StreamVmm&) = delete;
  StreamVmm& operator=(const StreamVmm&) = delete;

  void send(const Bytes& frame) const {
    Bytes out;
    put16(out, 0);
    put16(out, frame.size());
    out.insert(out.end(), frame.begin(), frame.end());
    REQUIRE(::send(m_fd, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size()));
  }

  // The next whole frame, or nullopt after `timeout` without one (or at EOF).
  std::optional<Bytes> receive(int timeout_ms) {
    while (true) {
      if (m_buffer.size() >= 4) {
        const std::size_t length = (std::size_t{m_buffer[0]} << 24) | (std::size_t{m_buffer[1]} << 16) |
                                   (std::size_t{m_buffer[2]} << 8) | m_buffer[3];
        if (m_buffer.size() >= 4 + length) {
          Bytes frame(m_buffer.begin() + 4, m_buffer.begin() + static_cast<std::ptrdiff_t>(4 + length));
          m_buffer.erase(m_buffer.begin(), m_buffer.begin() + static_cast<std::ptrdiff_t>(4 + length));
          return frame;
        }
      }
      if (read_some(timeout_ms) <= 0) return std::nullopt;
    }
  }

  // Reads what is there; true once the peer closed (EOF) within `timeout_ms`.
  bool closed_by_peer(int timeout_ms) {
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = read_some(timeout_ms);
      if (n == 0) return true;
      if (n < 0) return false;
    }
    return false;
  }

 private:
  // > 0 bytes read, 0 at EOF, -1 on timeout or error.
  ssize_t read_some(int timeout_ms) {
    pollfd pfd{m_fd, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) != 1) return -1;
    std::uint8_t chunk[4096];
    const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
    if (n > 0) m_buffer.insert(m_buffer.end(), chunk, chunk + n);
    return n < 0 ? -1 : n;
  }

  int m_fd;
  Bytes m_buffer;
};

// A DHCPOFFER (RFC 2131, option 53 = 2) for `mac` with transaction `xid` and some yiaddr.
bool is_offer_for(const Bytes& f, const Mac& mac, std::uint32_t xid) {
  if (f.size() < 14 + 20 + 8 + 240 || be16(f, 12) != 0x0800 || f[23] != 17) return false;
  const std::size_t udp = 14 + (f[14] & 0x0fU) * 4U;
  const std::size_t bootp = udp + 8;
  if (f.size() < bootp + 240 || be16(f, udp) != 67 || f[bootp] != 2) return false;
  for (std::size_t i = 0; i < 4; ++i) {
    if (f[bootp + 4 + i] != static_cast<std::uint8_t>(xid >> (24 - 8 * i))) return false;
  }
  if (!std::equal(mac.begin(), mac.end(), f.begin() + static_cast<std::ptrdiff_t>(bootp + 28))) return false;
  if ((f[bootp + 16] | f[bootp + 17] | f[bootp + 18] | f[bootp + 19]) == 0) return false;
  for (std::size_t at = bootp + 240; at + 2 < f.size() && f[at] != 255; at += f[at] == 0 ? 1U : 2U + f[at + 1]) {
    if (f[at] == 53) return f[at + 2] == 2;
  }
  return false;
}

bool process_exists(int pid) { return pid > 0 && std::filesystem::exists("/proc/" + std::to_string(pid)); }

std::string command_line(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

// Starts `name` as a handed-off passt; returns the result and the fd that came with it.
std::pair<json, int> start_handed_off(const DaemonProcess& daemon, json params) {
  auto client = daemon.connect();
  auto reply = client.call("start", params);
  REQUIRE(reply.ok());
  INFO("daemon log:\n" << daemon.log());
  REQUIRE(reply->ok());
  return {*reply->result, client.take_received_fd()};
}

}  // namespace

TEST_CASE("passt hand-off: the VMM gets passt's socket with the reply and talks to passt directly",
          "[integration][passt][handoff]") {
  if (!std::filesystem::exists("/usr/bin/passt")) FAIL("passt is not installed (scripts/setup installs it)");
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto [started, fd] = start_handed_off(
      daemon, {{"name", "h1"},
               {"mode", "userspace"},
               {"handoff", "fd"},
               {"forwards", json::array({{{"protocol", "tcp"}, {"host", "127.0.0.1:47311"}, {"guest_port", 22}}})}});
  REQUIRE(fd >= 0);
  StreamVmm vmm(fd);
  CHECK(started["socket"].is_null());
  CHECK(started["handoff"] == "fd");
  CHECK(started["frames_counted"] == false);
  CHECK_FALSE(started.contains("tap"));
  CHECK_FALSE(std::filesystem::exists(daemon.run_dir() + "/h1.sock"));
  // It is an AF_UNIX stream socket (QEMU's stream protocol), the one passt holds as --fd.
  int type = 0;
  socklen_t size = sizeof type;
  REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0);
  CHECK(type == SOCK_STREAM);

  const auto listed = daemon.ok("list")[0];
  CHECK(listed["state"] == "running");
  CHECK(listed["handoff"] == "fd");
  CHECK(listed["frames_counted"] == false);
  CHECK_THAT(listed["detail"].get<std::string>(), ContainsSubstring("frames are not counted"));
  const int passt = child_pid(daemon, "h1");
  REQUIRE(passt > 0);
  // The forward is passt's argument, as for a relayed passt.
  CHECK_THAT(command_line(passt), ContainsSubstring("--tcp-ports 127.0.0.1/47311:22"));

  const Mac mac = parse_mac(started["mac"]);
  const std::uint32_t xid = 0x5c1b0017;
  std::optional<Bytes> offer;
  // passt may need a moment after start; retry the discover a few times like a client.
  for (int attempt = 0; attempt < 5 && !offer; ++attempt) {
    vmm.send(dhcp_discover(mac, xid));
    while (auto frame = vmm.receive(1000)) {
      if (is_offer_for(*frame, mac, xid)) {
        offer = frame;
        break;
      }
    }
  }
  INFO("daemon log:\n" << daemon.log());
  REQUIRE(offer.has_value());

  // No frame passed the daemon: nothing counted, as the result said.
  const auto stats = stats_of(daemon, "h1");
  CHECK(stats["from_vm"]["frames"] == 0);
  CHECK(stats["to_vm"]["frames"] == 0);
  CHECK(stats["frames_counted"] == false);
  // passt cannot be restarted or reconfigured: the VMM holds the only other end.
  const auto restart = daemon.call("restart", {{"name", "h1"}});
  CHECK_FALSE(restart.ok());
  CHECK_THAT(restart.error_message, ContainsSubstring("cannot be restarted"));
  const auto forward = daemon.call("forward", {{"name", "h1"}, {"host", "127.0.0.1:47312"}, {"guest_port", 80}});
  CHECK_FALSE(forward.ok());
  CHECK(child_pid(daemon, "h1") == passt);

  daemon.ok("stop", {{"name", "h1"}});
  CHECK(eventually([&] { return !process_exists(passt); }));
  CHECK(vmm.closed_by_peer(5000));
  CHECK(daemon.ok("list").empty());
}

TEST_CASE("passt hand-off: a passt that dies is not restarted, the attachment is failed until stopped",
          "[integration][passt][handoff]") {
  if (!std::filesystem::exists("/usr/bin/passt")) FAIL("passt is not installed (scripts/setup installs it)");
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto [started, fd] = start_handed_off(daemon, {{"name", "h2"}, {"mode", "userspace"}, {"handoff", "fd"}});
  REQUIRE(fd >= 0);
  StreamVmm vmm(fd);
  const int passt = child_pid(daemon, "h2");
  REQUIRE(passt > 0);
  REQUIRE(::kill(passt, SIGKILL) == 0);
  REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "failed"; }));
  const auto listed = daemon.ok("list")[0];
  CHECK_THAT(listed["detail"].get<std::string>(), ContainsSubstring("cannot be restarted"));
  CHECK(vmm.closed_by_peer(5000));
  CHECK(child_pid(daemon, "h2") == 0);
  CHECK(stats_of(daemon, "h2")["child_restarts"] == 0);
  daemon.ok("stop", {{"name", "h2"}});
  CHECK(daemon.ok("list").empty());
}

TEST_CASE("passt hand-off: refused for other userspace kinds and not restored after a daemon restart",
          "[integration][passt][handoff]") {
  if (!std::filesystem::exists("/usr/bin/passt")) FAIL("passt is not installed (scripts/setup installs it)");
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto gvproxy = daemon.call(
      "start", {{"name", "g1"}, {"mode", "userspace"}, {"userspace", {{"kind", "gvproxy"}}}, {"handoff", "fd"}});
  CHECK(gvproxy.error_code == -32602);
  CHECK(gvproxy.error_message ==
        "invalid params: handoff: fd applies to userspace kind passt only (this one is gvproxy)");
  const auto tap = daemon.call("start", {{"name", "g2"}, {"mode", "userspace"}, {"handoff", "tap"}});
  CHECK(tap.error_code == -32602);
  CHECK(tap.error_message == "invalid params: handoff: userspace attachments take only fd (passt's socket)");

  const auto [started, fd] = start_handed_off(daemon, {{"name", "h3"}, {"mode", "userspace"}, {"handoff", "fd"}});
  REQUIRE(fd >= 0);
  StreamVmm vmm(fd);
  const int passt = child_pid(daemon, "h3");
  REQUIRE(passt > 0);
  REQUIRE(daemon.stop(SIGTERM) == 0);
  CHECK_FALSE(process_exists(passt));
  CHECK(vmm.closed_by_peer(5000));
  daemon.restart();
  // A new passt could not reach the VMM's end: the attachment is gone, not half restored.
  CHECK(daemon.ok("list").empty());
}

TEST_CASE("passt hand-off through squib-netctl --handoff fd --exec: the command holds passt's socket",
          "[integration][passt][handoff]") {
  if (!std::filesystem::exists("/usr/bin/passt")) FAIL("passt is not installed (scripts/setup installs it)");
  TempDir dir;
  DaemonProcess daemon(dir.path());
  // The command sees a stream socket on {fd} (and $SQUIB_NET_FD) while passt serves it.
  const auto run =
      run_command(std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() +
                  " start h4 --mode userspace --handoff fd --exec -- sh -c '"
                  "test -S /proc/self/fd/{fd} && test \"$SQUIB_NET_FD\" = {fd} && echo holding {fd}' 2>&1");
  INFO(run.output << "\ndaemon log:\n" << daemon.log());
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.output, ContainsSubstring("holding "));
  CHECK_THAT(daemon.log(), ContainsSubstring("h4: started (userspace mode"));
  // The attachment lived exactly as long as the command; its passt is gone with it.
  CHECK(daemon.ok("list").empty());
  CHECK(eventually([&] { return daemon.log().find("h4/passt: child") != std::string::npos; }));
}
