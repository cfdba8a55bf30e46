// Packet capture through the real daemon (`capture`, relay/capture_session.hpp,
// proto/control-protocol.md "capture"): known frames injected into a VM's socket, echoed back
// by the echo-peer child (userspace mode), captured by a real `squib-netctl capture` or by
// the test holding the passed socket itself. The pcapng bytes are parsed block by block here
// (draft-ietf-opsawg-pcapng §4), independently of proto/pcapng.cpp's encoder.
//
// No network is created: the echo peer is the attachment's whole network.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/member.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t k_inbound = 1;   // epb_flags direction: to the VM
constexpr std::uint32_t k_outbound = 2;  // from the VM

template <class T>
T host_at(const Bytes& bytes, std::size_t at) {
  REQUIRE(at + sizeof(T) <= bytes.size());
  T value{};
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}

struct Packet {
  std::uint32_t captured_length = 0;
  std::uint32_t original_length = 0;
  Bytes data;
  std::optional<std::uint32_t> flags;
  std::optional<std::string> comment;
  std::uint64_t dropcount = 0;
};

struct Statistics {
  std::uint64_t received = 0;
  std::uint64_t lost = 0;
  std::uint64_t delivered = 0;
};

struct Parsed {
  bool section_header = false;
  std::uint16_t linktype = 0;
  std::uint32_t snaplen = 0;
  std::vector<Packet> packets;
  std::optional<Statistics> statistics;
};

// Options from `at` to `end`: {code, length, value padded to 4}, until code 0.
template <class Visit>
void options(const Bytes& block, std::size_t at, std::size_t end, Visit visit) {
  while (at + 4 <= end) {
    const auto code = host_at<std::uint16_t>(block, at);
    const auto length = host_at<std::uint16_t>(block, at + 2);
    if (code == 0) return;
    REQUIRE(at + 4 + length <= end);
    visit(code, Bytes(block.begin() + static_cast<long>(at + 4), block.begin() + static_cast<long>(at + 4 + length)));
    at += 4 + ((length + 3U) & ~3U);
  }
}

// One block: its type, checked lengths, and what it says, added to `out`.
void parse_block(const Bytes& block, Parsed& out) {
  REQUIRE(block.size() >= 12);
  REQUIRE(block.size() % 4 == 0);
  const auto type = host_at<std::uint32_t>(block, 0);
  REQUIRE(host_at<std::uint32_t>(block, 4) == block.size());
  REQUIRE(host_at<std::uint32_t>(block, block.size() - 4) == block.size());
  const std::size_t end = block.size() - 4;
  if (type == 0x0A0D0D0A) {
    CHECK(host_at<std::uint32_t>(block, 8) == 0x1A2B3C4D);
    CHECK(host_at<std::uint16_t>(block, 12) == 1);
    out.section_header = true;
  } else if (type == 1) {
    out.linktype = host_at<std::uint16_t>(block, 8);
    out.snaplen = host_at<std::uint32_t>(block, 12);
  } else if (type == 6) {
    Packet packet;
    CHECK(host_at<std::uint32_t>(block, 8) == 0);  // interface 0
    packet.captured_length = host_at<std::uint32_t>(block, 20);
    packet.original_length = host_at<std::uint32_t>(block, 24);
    REQUIRE(28 + packet.captured_length <= end);
    packet.data.assign(block.begin() + 28, block.begin() + 28 + packet.captured_length);
    options(block, 28 + ((packet.captured_length + 3U) & ~3U), end, [&](std::uint16_t code, const Bytes& value) {
      if (code == 2 && value.size() == 4) packet.flags = host_at<std::uint32_t>(value, 0);
      if (code == 4 && value.size() == 8) packet.dropcount = host_at<std::uint64_t>(value, 0);
      if (code == 1) packet.comment = std::string(value.begin(), value.end());
    });
    out.packets.push_back(std::move(packet));
  } else if (type == 5) {
    Statistics statistics;
    options(block, 20, end, [&](std::uint16_t code, const Bytes& value) {
      if (value.size() != 8) return;
      if (code == 4) statistics.received = host_at<std::uint64_t>(value, 0);
      if (code == 7) statistics.lost = host_at<std::uint64_t>(value, 0);
      if (code == 8) statistics.delivered = host_at<std::uint64_t>(value, 0);
    });
    out.statistics = statistics;
  } else {
    FAIL("unexpected pcapng block type " << type);
  }
}

Parsed parse_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Parsed out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    REQUIRE(at + 8 <= bytes.size());
    const auto length = host_at<std::uint32_t>(bytes, at + 4);
    REQUIRE(length >= 12);
    REQUIRE(at + length <= bytes.size());
    parse_block(Bytes(bytes.begin() + static_cast<long>(at), bytes.begin() + static_cast<long>(at + length)), out);
    at += length;
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// `squib-netctl --control … capture ARGS` in the background, stdout/stderr to files.
class NetctlCapture {
 public:
  NetctlCapture(const DaemonProcess& daemon, const std::string& dir, const std::string& args)
      : m_stderr(dir + "/capture.err") {
    const std::size_t before = occurrences(daemon.log(), "capture started");
    const std::string line = std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() + " capture " +
                             args + " >" + dir + "/capture.out 2>" + m_stderr;
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // The daemon logs each capture it starts: frames sent after that are captured.
    REQUIRE(eventually([&] { return occurrences(daemon.log(), "capture started") > before; }));
  }
  ~NetctlCapture() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  NetctlCapture(const NetctlCapture&) = delete;
  NetctlCapture& operator=(const NetctlCapture&) = delete;

  // Waits for it to exit on its own; its exit code.
  int wait() {
    int status = 0;
    REQUIRE(eventually([&] { return ::waitpid(m_pid, &status, WNOHANG) == m_pid; }, 10s));
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void signal(int signum) const { ::kill(m_pid, signum); }
  [[nodiscard]] std::string error_output() const { return read_file(m_stderr); }

 private:
  std::string m_stderr;
  pid_t m_pid = -1;
};

// Sends `frame` and waits for the echo peer to return it.
void round_trip(const FakeVmm& vm, const Bytes& frame) {
  vm.send(frame);
  const auto echoed = vm.receive();
  REQUIRE(echoed.has_value());
  REQUIRE(*echoed == frame);
}

struct EchoVm {
  TempDir dir;
  DaemonProcess daemon{dir.path()};
  json started = daemon.ok("start", echo_start("vm1"));
  std::string mac = started["mac"];
  FakeVmm vm{dir.path() + "/vm1.local", started["socket"]};

  EchoVm() {
    REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));
  }
};

// The capture socket passed with a `capture` reply (the test is the client).
int capture_socket(squib::proto::ControlClient& client, const json& params) {
  auto response = client.call("capture", params);
  REQUIRE(response.ok());
  INFO(response->error_message);
  REQUIRE(response->ok());
  const int fd = client.take_received_fd();
  REQUIRE(fd >= 0);
  return fd;
}

// Shuts our end down and reads every record until the daemon's EOF (after its statistics).
Parsed drain(int fd) {
  REQUIRE(::shutdown(fd, SHUT_WR) == 0);
  Parsed out;
  Bytes record(300 * 1024);
  while (true) {
    pollfd waiting{fd, POLLIN, 0};
    REQUIRE(::poll(&waiting, 1, 5000) == 1);
    const ssize_t n = ::recv(fd, record.data(), record.size(), 0);
    REQUIRE(n >= 0);
    if (n == 0) break;
    parse_block(Bytes(record.begin(), record.begin() + n), out);
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("capture: both directions of known frames, exact bytes and direction flags", "[integration][capture]") {
  EchoVm setup;
  const std::string file = setup.dir.path() + "/both.pcapng";
  NetctlCapture capture(setup.daemon, setup.dir.path(), "vm1 -w " + file + " --count 4");
  const auto first = make_frame(setup.mac, 100, 1);
  const auto second = make_frame(setup.mac, 1514, 2);
  round_trip(setup.vm, first);
  round_trip(setup.vm, second);
  REQUIRE(capture.wait() == 0);
  CHECK(capture.error_output() == "4 frames captured, 0 lost\n");

  const auto parsed = parse_file(file);
  CHECK(parsed.section_header);
  CHECK(parsed.linktype == 1);
  CHECK(parsed.snaplen == 262144);
  REQUIRE(parsed.packets.size() == 4);
  const std::vector<std::pair<const Bytes*, std::uint32_t>> expected{
      {&first, k_outbound}, {&first, k_inbound}, {&second, k_outbound}, {&second, k_inbound}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("packet " << i);
    const auto& packet = parsed.packets[i];
    CHECK(packet.data == *expected[i].first);
    CHECK(packet.original_length == expected[i].first->size());
    CHECK(packet.flags == expected[i].second);
    CHECK_FALSE(packet.comment.has_value());
    CHECK(packet.dropcount == 0);
  }
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("capture: -w - streams each record at once to a pipe, SIGINT ends it with a summary",
          "[integration][capture]") {
  EchoVm setup;
  int out[2] = {-1, -1};
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  const std::string errors = setup.dir.path() + "/live.err";
  const std::size_t before = occurrences(setup.daemon.log(), "capture started");
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    const int err = ::open(errors.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(err, STDERR_FILENO);
    ::execl(SQUIB_NETCTL_PATH, SQUIB_NETCTL_PATH, "--control", setup.daemon.control_path().c_str(), "capture", "vm1",
            "-w", "-", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  REQUIRE(eventually([&] { return occurrences(setup.daemon.log(), "capture started") > before; }));
  const auto frame = make_frame(setup.mac, 200, 8);
  setup.vm.send(frame);
  // While squib-netctl still runs, the pipe already holds the header and the frame's record.
  Bytes stream;
  const auto read_some = [&] {
    pollfd waiting{out[0], POLLIN, 0};
    if (::poll(&waiting, 1, 5000) != 1) return false;
    std::array<std::uint8_t, 4096> chunk{};
    const ssize_t n = ::read(out[0], chunk.data(), chunk.size());
    if (n <= 0) return false;
    stream.insert(stream.end(), chunk.begin(), chunk.begin() + n);
    return true;
  };
  // The SHB and IDB, then the frame's EPB (its echo's may follow).
  const auto block_end = [&](std::size_t at) -> std::size_t {
    while (stream.size() < at + 8) REQUIRE(read_some());
    return at + host_at<std::uint32_t>(stream, at + 4);
  };
  const std::size_t idb = block_end(0);
  const std::size_t epb = block_end(idb);
  const std::size_t end = block_end(epb);
  while (stream.size() < end) REQUIRE(read_some());
  CHECK(host_at<std::uint32_t>(stream, epb) == 6);
  CHECK(Bytes(stream.begin() + static_cast<long>(epb + 28), stream.begin() + static_cast<long>(epb + 28 + 200)) ==
        frame);
  REQUIRE(setup.vm.receive().has_value());  // the echo: recorded before it reached the VM

  ::kill(pid, SIGINT);
  while (read_some()) {
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::close(out[0]);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // The echo of the frame came after it: both directions, then the daemon's statistics.
  CHECK(read_file(errors) == "2 frames captured, 0 lost\n");
}

TEST_CASE("capture: --snaplen truncates, --direction out keeps the VM's frames only", "[integration][capture]") {
  EchoVm setup;
  const std::string file = setup.dir.path() + "/short.pcapng";
  NetctlCapture capture(setup.daemon, setup.dir.path(), "vm1 -w " + file + " --count 2 --snaplen 64 --direction out");
  const auto small = make_frame(setup.mac, 60, 3);
  const auto large = make_frame(setup.mac, 1000, 4);
  round_trip(setup.vm, small);
  round_trip(setup.vm, large);
  REQUIRE(capture.wait() == 0);
  CHECK(capture.error_output() == "2 frames captured, 0 lost\n");
  const auto parsed = parse_file(file);
  CHECK(parsed.snaplen == 64);
  REQUIRE(parsed.packets.size() == 2);
  CHECK(parsed.packets[0].data == small);
  CHECK(parsed.packets[0].original_length == 60);
  CHECK(parsed.packets[1].captured_length == 64);
  CHECK(parsed.packets[1].data == Bytes(large.begin(), large.begin() + 64));
  CHECK(parsed.packets[1].original_length == 1000);
  for (const auto& packet : parsed.packets) CHECK(packet.flags == k_outbound);
}

TEST_CASE("capture: a guard-dropped spoofed frame appears only with --dropped, with its reason",
          "[integration][capture]") {
  EchoVm setup;
  const auto spoofed = make_frame("02:00:00:00:00:66", 80, 5);
  const auto good = make_frame(setup.mac, 90, 6);
  {
    const std::string file = setup.dir.path() + "/plain.pcapng";
    NetctlCapture capture(setup.daemon, setup.dir.path(), "vm1 -w " + file + " --count 1 --direction out");
    setup.vm.send(spoofed);
    round_trip(setup.vm, good);
    REQUIRE(capture.wait() == 0);
    const auto parsed = parse_file(file);
    REQUIRE(parsed.packets.size() == 1);
    CHECK(parsed.packets[0].data == good);
  }
  {
    const std::string file = setup.dir.path() + "/dropped.pcapng";
    NetctlCapture capture(setup.daemon, setup.dir.path(), "vm1 -w " + file + " --count 2 --direction out --dropped");
    setup.vm.send(spoofed);
    round_trip(setup.vm, good);
    REQUIRE(capture.wait() == 0);
    const auto parsed = parse_file(file);
    REQUIRE(parsed.packets.size() == 2);
    CHECK(parsed.packets[0].data == spoofed);
    CHECK(parsed.packets[0].flags == k_outbound);
    CHECK(parsed.packets[0].comment == "dropped by squib-netd: spoofed_mac");
    CHECK(parsed.packets[1].data == good);
    CHECK_FALSE(parsed.packets[1].comment.has_value());
  }
  CHECK(stats_of(setup.daemon, "vm1")["drops"]["spoofed_mac"] == 2);
}

TEST_CASE("capture: a client that never reads loses capture records, counted, while every VM frame arrives",
          "[integration][capture]") {
  EchoVm setup;
  auto client = setup.daemon.connect();
  const int fd = capture_socket(client, {{"name", "vm1"}});
  // 3000 round trips of 1000-byte frames: 6000 records, about 6 MB — three times the capture
  // socket's 2 MiB (the daemon's SO_SNDBUFFORCE of 1 MiB, doubled by Linux).
  constexpr std::uint64_t k_frames = 3000;
  for (std::uint64_t i = 0; i < k_frames; ++i) {
    round_trip(setup.vm, make_frame(setup.mac, 1000, static_cast<std::uint8_t>(i)));
  }
  const auto stats = stats_of(setup.daemon, "vm1");
  CHECK(stats["from_vm"]["frames"] == k_frames);
  CHECK(stats["to_vm"]["frames"] == k_frames);
  CHECK(stats["dropped_total"] == 0);

  const auto parsed = drain(fd);
  REQUIRE(parsed.statistics.has_value());
  const auto& totals = *parsed.statistics;
  CHECK(totals.received == 2 * k_frames);
  CHECK(totals.delivered == parsed.packets.size());
  CHECK(totals.lost == 2 * k_frames - parsed.packets.size());
  CHECK(totals.lost > 0);
  std::uint64_t reported = 0;
  for (const auto& packet : parsed.packets) reported += packet.dropcount;
  CHECK(reported <= totals.lost);
  // The delivered records are the first ones, in order: the socket filled, then every later
  // record of that batch was lost.
  CHECK(parsed.packets.front().data == make_frame(setup.mac, 1000, 0));
}

TEST_CASE("capture: several at once up to the limit, one freed when its client closes, ended by stop",
          "[integration][capture]") {
  EchoVm setup;
  auto client = setup.daemon.connect();
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) fds.push_back(capture_socket(client, {{"name", "vm1"}, {"direction", "in"}}));
  auto refused = client.call("capture", {{"name", "vm1"}});
  REQUIRE(refused.ok());
  CHECK(refused->error_code == -32005);
  CHECK(refused->error_message == "attachment 'vm1' already has 4 captures running (the limit)");

  const auto frame = make_frame(setup.mac, 200, 7);
  round_trip(setup.vm, frame);
  // A client that closes its end frees its session: a fifth capture is then accepted.
  ::close(fds.back());
  fds.pop_back();
  REQUIRE(eventually([&] {
    auto again = client.call("capture", {{"name", "vm1"}, {"direction", "in"}});
    REQUIRE(again.ok());
    if (!again->ok()) return false;
    fds.push_back(client.take_received_fd());
    return true;
  }));
  // Stopping the attachment ends every capture: statistics, then EOF.
  setup.daemon.ok("stop", {{"name", "vm1"}});
  for (std::size_t i = 0; i < fds.size(); ++i) {
    INFO("capture " << i);
    Bytes record(4096);
    Parsed parsed;
    while (true) {
      pollfd waiting{fds[i], POLLIN, 0};
      REQUIRE(::poll(&waiting, 1, 5000) == 1);
      const ssize_t n = ::recv(fds[i], record.data(), record.size(), 0);
      REQUIRE(n >= 0);
      if (n == 0) break;
      parse_block(Bytes(record.begin(), record.begin() + n), parsed);
    }
    ::close(fds[i]);
    REQUIRE(parsed.statistics.has_value());
    const std::uint64_t expected = i < 3 ? 1 : 0;  // the last one started after the frame
    CHECK(parsed.packets.size() == expected);
    CHECK(parsed.statistics->received == expected);
    if (expected == 1) CHECK(parsed.packets[0].data == frame);
  }
}

TEST_CASE("capture: a member captures its own attachment, not another's", "[integration][capture][root]") {
  TestGroup group("c");
  TestAccount alice("ca", group.name());
  TestAccount bob("cb", group.name());
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  DaemonProcess daemon(dir.path(), {"--group", group.name()});
  auto owned_by = [&](const std::string& name, const TestAccount& account) {
    auto params = echo_start(name);
    params["owner"] = {{"uid", account.uid()}, {"gid", account.gid()}};
    daemon.ok("start", params);
  };
  owned_by("alice-vm", alice);
  owned_by("bob-vm", bob);
  MemberProcess member(alice);
  auto connected = member.connect(daemon.control_path());
  REQUIRE(connected.ok());
  auto& client = connected.value();

  const int own = capture_socket(client, {{"name", "alice-vm"}});
  ::close(own);
  const auto refused = call(client, "capture", {{"name", "bob-vm"}});
  CHECK(refused.error_code == -32003);
  CHECK(refused.error_message == "attachment 'bob-vm' belongs to uid " + std::to_string(bob.uid()) +
                                     ": members may act only on their own attachments (root on all)");

  // The same through squib-netctl run as alice: exit 1, the daemon's words on stderr.
  std::string output;
  const int rc = run_as_account(
      alice, std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() + " capture bob-vm -w /dev/null",
      output);
  CHECK(rc == 1);
  CHECK(output.find("belongs to uid " + std::to_string(bob.uid())) != std::string::npos);
}
