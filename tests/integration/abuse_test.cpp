// Abuse tests: the real squib-netd binary under hostile or careless clients, VMs and
// environments — connection floods, slow and stalled clients, deep and huge JSON, wrong
// types, an unwritable state file, a VM that never reads — and its least-privilege set.
// Every test asserts the exact error (or counted drop) and that the daemon still serves
// afterwards. docs/security.md maps each claim to the test here that proves it.
// Needs root (socket ownership, capabilities, running a VMM as nobody).

#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

using namespace squib::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// (connect_raw, send_all and read_line_or_eof, in tests/support, give the raw connections
// these tests need to misbehave in ways ControlClient cannot.)

// Waits until the daemon closes `fd` (unread replies are skipped); returns how long it took,
// or nullopt after `timeout`.
std::optional<std::chrono::milliseconds> wait_closed(int fd, std::chrono::milliseconds timeout) {
  const auto begin = Clock::now();
  const auto deadline = begin + timeout;
  char buffer[4096];
  while (Clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 10) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
    }
  }
  return std::nullopt;
}

json parse(const std::string& line) {
  json doc = json::parse(line, nullptr, false);
  INFO("line: " << line.substr(0, 300));
  REQUIRE_FALSE(doc.is_discarded());
  return doc;
}

std::size_t fd_count(pid_t pid) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++count;
  }
  return count;
}

// One field of /proc/PID/status ("CapEff", "NoNewPrivs", "Uid"), the text after the tab.
std::string proc_status(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      const auto value = line.find_first_not_of(" \t", field.size() + 1);
      return value == std::string::npos ? std::string() : line.substr(value);
    }
  }
  return {};
}

std::uint64_t proc_caps(pid_t pid, const std::string& field) {
  return std::stoull(proc_status(pid, field), nullptr, 16);
}

constexpr std::uint64_t bit(int cap) { return std::uint64_t{1} << static_cast<unsigned>(cap); }

// What the daemon keeps (lib/squib/platform/linux/privileges.cpp), as kernel bit masks.
constexpr std::uint64_t k_daemon_effective =
    bit(CAP_NET_ADMIN) | bit(CAP_CHOWN) | bit(CAP_DAC_OVERRIDE) | bit(CAP_KILL);
constexpr std::uint64_t k_kept =
    k_daemon_effective | bit(CAP_NET_RAW) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_SETUID) | bit(CAP_SETGID);

// Frames carrying a 32-bit sequence number right after the Ethernet header.
std::vector<std::uint8_t> numbered_frame(const std::string& mac, std::size_t size, std::uint32_t seq) {
  auto frame = make_frame(mac, size, static_cast<std::uint8_t>(seq));
  std::memcpy(frame.data() + 14, &seq, sizeof seq);
  return frame;
}

std::uint32_t sequence_of(const std::uint8_t* frame) {
  std::uint32_t seq = 0;
  std::memcpy(&seq, frame + 14, sizeof seq);
  return seq;
}

}  // namespace

TEST_CASE("connection limit: the connection over --max-connections gets -32005 and is closed", "[integration][abuse]") {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {"--max-connections", "4"});
  std::vector<squib::proto::ControlClient> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(daemon.connect());
    auto status = held.back().call("status", json::object());
    REQUIRE(status.ok());
    REQUIRE(status->ok());  // each of the four is accepted and served
  }
  const int fifth = connect_raw(daemon.control_path());
  REQUIRE(fifth >= 0);
  const json refused = parse(read_line_or_eof(fifth, 2s));
  CHECK(refused["error"]["code"] == -32005);
  CHECK(refused["error"]["message"] == "too many control connections (limit 4)");
  CHECK(refused["id"].is_null());
  CHECK(read_line_or_eof(fifth, 2s) == "<eof>");
  ::close(fifth);

  // The four still work; once one closes, a new connection is served.
  for (auto& client : held) CHECK(client.call("status", json::object())->ok());
  held.pop_back();
  const bool served = eventually([&] {
    auto client = squib::proto::ControlClient::connect(daemon.control_path(), 1s);
    if (!client) return false;
    auto status = client.value().call("status", json::object());
    return status.ok() && status->ok();
  });
  CHECK(served);
  CHECK(daemon.log().find("control: 4 connections open (the limit); refusing one") != std::string::npos);
}

TEST_CASE("idle timeout: silent and slowloris connections are closed, active ones are not", "[integration][abuse]") {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {"--idle-timeout-ms", "300"});

  SECTION("a connection that sends nothing is closed after ~300 ms") {
    const int fd = connect_raw(daemon.control_path());
    REQUIRE(fd >= 0);
    const auto closed = wait_closed(fd, 1s);
    REQUIRE(closed.has_value());
    CHECK(*closed >= 250ms);
    ::close(fd);
    CHECK(daemon.log().find("idle for 300 ms") != std::string::npos);
  }
  SECTION("a slowloris (one byte per 100 ms, never a newline) is closed by the idle timer") {
    // The idle timer measures time since the last complete request, not the last byte:
    // otherwise 10 bytes/s hold a connection for ever (the 64 KiB line limit takes 6553 s).
    const int fd = connect_raw(daemon.control_path());
    REQUIRE(fd >= 0);
    const auto begin = Clock::now();
    const std::string request = R"({"jsonrpc":"2.0","id":1,"method":"status","params":{"pad":")" + std::string(64, 'x');
    std::size_t sent = 0;
    bool closed = false;
    while (Clock::now() - begin < 2s && sent < request.size()) {
      if (::send(fd, &request[sent], 1, MSG_NOSIGNAL) != 1) {
        closed = true;
        break;
      }
      ++sent;
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 100) == 1) {
        char c = 0;
        if (::recv(fd, &c, 1, 0) <= 0) {
          closed = true;
          break;
        }
      }
    }
    const auto elapsed = Clock::now() - begin;
    CHECK(closed);
    CHECK(elapsed < 1s);
    CHECK(sent < 10);  // closed after ~3 bytes, not at the line limit
    ::close(fd);
    CHECK(daemon.log().find("idle for 300 ms") != std::string::npos);
  }
  SECTION("a client sending a request every 100 ms is never closed") {
    auto client = daemon.connect();
    for (int i = 0; i < 12; ++i) {
      auto status = client.call("status", json::object());
      REQUIRE(status.ok());
      CHECK(status->ok());
      std::this_thread::sleep_for(100ms);
    }
  }
  CHECK(daemon.ok("status")["pid"] == daemon.pid());
}

TEST_CASE("10,000 connections opened and dropped leave the daemon's fd count at its baseline", "[integration][abuse]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.ok("start", echo_start("vm1"));  // an attachment with its own fds, to be kept intact
  REQUIRE(eventually([&] { return child_pid(daemon, "vm1") > 0; }));
  std::this_thread::sleep_for(300ms);  // the daemon has seen our last connection close
  const std::size_t baseline = fd_count(daemon.pid());
  constexpr int k_connections = 10'000;
  const std::string half = R"({"jsonrpc":"2.0","id":1,"method":"st)";
  const std::string full = R"({"jsonrpc":"2.0","id":1,"method":"stats","params":{}})"
                           "\n";
  // The daemon's fds while the flood runs: refused connections must not pile up (at most
  // --max-connections, 64 here, are held at any moment).
  std::atomic<bool> flooding{true};
  std::atomic<std::size_t> peak{0};
  std::thread sampler([&] {
    while (flooding) {
      peak = std::max(peak.load(), fd_count(daemon.pid()));
      std::this_thread::sleep_for(2ms);
    }
  });
  const auto begin = Clock::now();
  int connected = 0;
  for (int i = 0; i < k_connections; ++i) {
    const int fd = connect_raw(daemon.control_path());
    if (fd < 0) continue;
    ++connected;
    switch (i % 4) {
      case 0: break;                      // connect and drop
      case 1: send_all(fd, half); break;  // half a request, then drop
      case 2: send_all(fd, full); break;  // a request whose reply is never read
      case 3: send_all(fd, full + full + half); break;
    }
    ::close(fd);
  }
  const auto took = Clock::now() - begin;
  flooding = false;
  sampler.join();
  CHECK(connected == k_connections);
  CHECK(peak <= baseline + 64 + 2);
  CHECK(took < 60s);
  std::size_t after = 0;
  CHECK(eventually([&] { return (after = fd_count(daemon.pid())) == baseline; }, 10s));
  INFO("fd baseline " << baseline << ", after " << after);
  WARN("10,000 connections in " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                << " ms; daemon fds " << baseline << " before, peak " << peak.load() << ", " << after
                                << " after");
  CHECK(daemon.ok("list").size() == 1);
  CHECK(daemon.ok("status")["attachments"] == 1);
}

TEST_CASE("hostile JSON: deep nesting, over-long lines, half requests, wrong types", "[integration][abuse]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());

  SECTION("100k of [[[[ is a line over 64 KiB: -32600, closed") {
    const int fd = connect_raw(daemon.control_path());
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, std::string(100'000, '[') + "\n"));
    const json reply = parse(read_line_or_eof(fd, 2s));
    CHECK(reply["error"]["code"] == -32600);
    CHECK(reply["error"]["message"] == "request line exceeds 65536 bytes");
    CHECK(wait_closed(fd, 2s).has_value());
    ::close(fd);
  }
  SECTION("32,000 levels of nesting inside a line that fits: -32700, connection kept") {
    auto client = daemon.connect();
    const std::string deep = R"({"jsonrpc":"2.0","id":7,"method":"status","params":{"x":)" + std::string(32'000, '[') +
                             std::string(32'000, ']') + "}}";
    REQUIRE(deep.size() < 64 * 1024);
    const json reply = parse(client.exchange_raw(deep + "\n").value());
    CHECK(reply["error"]["code"] == -32700);
    CHECK(reply["error"]["message"] == "JSON nested deeper than 64 levels");
    CHECK(client.call("status", json::object())->ok());
  }
  SECTION("64 levels are accepted, 65 are not") {
    auto client = daemon.connect();
    const auto nested = [](std::size_t levels) {  // params is level 2
      return R"({"jsonrpc":"2.0","id":1,"method":"status","params":{"x":)" + std::string(levels - 2, '[') +
             std::string(levels - 2, ']') + "}}\n";
    };
    CHECK(parse(client.exchange_raw(nested(64)).value()).contains("result"));
    CHECK(parse(client.exchange_raw(nested(65)).value())["error"]["code"] == -32700);
  }
  SECTION("a line of exactly 65536 bytes is served; 65537 is refused") {
    const auto padded = [](std::size_t size) {
      std::string line = R"({"jsonrpc":"2.0","id":1,"method":"status","params":{"pad":"")"
                         "}}";
      line.insert(line.size() - 3, size - line.size(), 'p');
      return line;
    };
    REQUIRE(padded(65536).size() == 65536);
    auto client = daemon.connect();
    CHECK(parse(client.exchange_raw(padded(65536) + "\n").value()).contains("result"));
    const json refused = parse(client.exchange_raw(padded(65537) + "\n").value());
    CHECK(refused["error"]["code"] == -32600);
    CHECK(refused["error"]["message"] == "request line exceeds 65536 bytes");
  }
  SECTION("huge but valid params (~60 KiB) are served") {
    json params = json::object();
    for (int i = 0; i < 2000; ++i) params["key" + std::to_string(i)] = std::string(20, 'v');
    const std::string request = json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "status"}, {"params", params}}.dump();
    REQUIRE(request.size() > 50'000);
    REQUIRE(request.size() < 64 * 1024);
    auto client = daemon.connect();
    const json reply = parse(client.exchange_raw(request + "\n").value());
    CHECK(reply["id"] == 3);
    CHECK(reply["result"]["pid"] == daemon.pid());

    // A start whose userspace.args fill ~60 KiB: the child gets them all and runs.
    json start = echo_start("big");
    for (int i = 0; i < 1500; ++i) start["userspace"]["args"].push_back("arg-" + std::string(30, 'a'));
    const std::string start_line = json{{"jsonrpc", "2.0"}, {"id", 4}, {"method", "start"}, {"params", start}}.dump();
    REQUIRE(start_line.size() > 50'000);
    REQUIRE(start_line.size() < 64 * 1024);
    const json started = parse(client.exchange_raw(start_line + "\n").value());
    REQUIRE(started.contains("result"));
    FakeVmm vm(dir.path() + "/big.local", started["result"]["socket"]);
    // The child must be up before the frame, or the frame is (rightly) a backend_down drop.
    REQUIRE(eventually([&] { return child_pid(daemon, "big") > 0; }));
    const auto frame = make_frame(started["result"]["mac"], 100, 1);
    vm.send(frame);
    CHECK(vm.receive() == frame);
  }
  SECTION("half-written requests, then close: nothing happens") {
    for (const std::string part :
         {R"({"jsonrpc":"2.0","id":1,"method":"start","params":{"name":"half")", R"({"jsonrpc":"2.0")", "{", "\r"}) {
      const int fd = connect_raw(daemon.control_path());
      REQUIRE(fd >= 0);
      REQUIRE(send_all(fd, part));
      ::close(fd);
    }
    CHECK(daemon.ok("list").empty());
    CHECK_FALSE(std::filesystem::exists(daemon.run_dir() + "/half.sock"));
  }
  SECTION("wrong types in the params of every method: -32602 naming the field") {
    auto client = daemon.connect();
    const std::vector<std::tuple<std::string, json, std::string>> cases = {
        {"start", {{"name", 5}}, "name: must be a string"},
        {"start", {{"name", "vm1"}, {"mode", 7}}, "mode: must be a string"},
        {"start", {{"name", "vm1"}, {"mode", "nat"}}, "mode: must be shared, host, bridged or userspace"},
        {"start", {{"name", "vm1"}, {"mtu", 1.5}}, "mtu: must be an integer from 68 to 65535"},
        {"start", {{"name", "vm1"}, {"mtu", 70000}}, "mtu: must be an integer from 68 to 65535"},
        {"start", {{"name", "vm1"}, {"mac", 17}}, "mac: must be a string"},
        {"start", {{"name", "vm1"}, {"mac", "01:00:5e:00:00:01"}}, "mac: must be a unicast, non-zero address"},
        {"start",
         {{"name", "vm1"}, {"network", "../x"}},
         "network: must match [A-Za-z0-9_.-]{1,64} and not be . or .."},
        {"start", {{"name", "vm1"}, {"isolation", "yes"}}, "isolation: must be true or false"},
        {"start", {{"name", "vm1"}, {"userspace", "passt"}}, "userspace: must be an object"},
        {"start", {{"name", "vm1"}, {"userspace", {{"args", {1, 2}}}}}, "userspace.args: must be an array of strings"},
        {"start",
         {{"name", "vm1"}, {"userspace", {{"kind", "slirp"}}}},
         "userspace.kind: must be passt, gvproxy or custom"},
        {"start", {{"name", "vm1"}, {"owner", "root"}}, "owner: must be an object {uid, gid}"},
        {"start", {{"name", "vm1"}, {"owner", {{"uid", -1}}}}, "owner.uid: must be an integer from 0 to 4294967294"},
        {"start", {{"name", "vm1"}, {"fd_passing", 1}}, "fd_passing: must be true or false"},
        {"start", {{"name", "vm1"}, {"forwards", {{"host", 1}}}}, "forwards: must be an array"},
        {"start", {{"name", "vm1"}, {"mode", "bridged"}}, "bridge: is required for mode bridged"},
        {"stop", {{"name", json::array()}}, "name: must be a string"},
        {"stop", {{"name", ".."}}, "name: must match [A-Za-z0-9_.-]{1,64} and not be . or .."},
        {"stats", {{"name", 3}}, "name: must be a string"},
        {"forward", {{"name", "vm1"}, {"host", 2222}}, "host: must be a string"},
        {"forward", {{"name", "vm1"}, {"host", "2222"}}, "guest_port: is required"},
        {"forward",
         {{"name", "vm1"}, {"host", "70000"}, {"guest_port", 22}},
         "host: must be PORT or IPV4:PORT with a port from 1 to 65535"},
        {"unforward",
         {{"name", "vm1"}, {"host", "example.com:22"}},
         "host: must be PORT or IPV4:PORT, e.g. 127.0.0.1:2222"},
    };
    for (const auto& [method, params, message] : cases) {
      auto reply = client.call(method, params);
      REQUIRE(reply.ok());
      INFO(method << " " << params.dump());
      CHECK(reply->error_code == -32602);
      CHECK(reply->error_message == "invalid params: " + message);
    }
    // params that are not an object, for every method, on the raw line.
    for (const std::string method : {"start", "stop", "list", "stats", "status", "forward", "unforward"}) {
      const json reply = parse(client
                                   .exchange_raw(R"({"jsonrpc":"2.0","id":9,"method":")" + method +
                                                 R"(","params":[1,2]})"
                                                 "\n")
                                   .value());
      INFO(method);
      CHECK(reply["error"]["code"] == -32602);
      CHECK(reply["error"]["message"] == "invalid params: params must be an object");
      CHECK(reply["id"] == 9);
    }
    const json version = parse(client
                                   .exchange_raw(R"({"jsonrpc":"1.0","id":2,"method":"status"})"
                                                 "\n")
                                   .value());
    CHECK(version["error"]["code"] == -32600);
    const json id = parse(client
                              .exchange_raw(R"({"jsonrpc":"2.0","id":[1],"method":"status"})"
                                            "\n")
                              .value());
    CHECK(id["error"]["code"] == -32600);
    CHECK(id["error"]["message"] == "invalid request: id must be a number, string or null");
    const json binary = parse(client.exchange_raw(std::string("\xff\xfe\x00garbage", 10) + "\n").value());
    CHECK(binary["error"]["code"] == -32700);
    CHECK(daemon.ok("list").empty());
  }
  CHECK(daemon.ok("status")["attachments"].get<int>() <= 1);
}

TEST_CASE("an unwritable state file is logged and the daemon starts, serves and recovers", "[integration][abuse]") {
  TempDir dir;
  // As root, a directory where the temp file goes makes the atomic write fail
  // (open O_CREAT|O_EXCL → EEXIST; unlink → EISDIR) regardless of permissions.
  const std::string run = dir.path() + "/run";
  REQUIRE(::mkdir(run.c_str(), 0755) == 0);
  REQUIRE(::mkdir((run + "/state.json.tmp").c_str(), 0755) == 0);
  DaemonProcess daemon(dir.path());
  const std::string error = "cannot write " + run + "/state.json: open " + run + "/state.json.tmp: File exists";
  CHECK(daemon.log().find(error) != std::string::npos);

  const auto started = daemon.ok("start", echo_start("vm1"));  // served; only persistence failed
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  const auto frame = make_frame(started["mac"], 200, 5);
  vm.send(frame);
  CHECK(vm.receive() == frame);
  CHECK_FALSE(std::filesystem::exists(run + "/state.json"));

  // Once the obstacle is gone, the next change persists everything.
  std::filesystem::remove(run + "/state.json.tmp");
  daemon.ok("start", echo_start("vm2"));
  std::ifstream in(run + "/state.json");
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("\"vm1\"") != std::string::npos);
  CHECK(text.str().find("\"vm2\"") != std::string::npos);
  CHECK(daemon.ok("status")["attachments"] == 2);
}

TEST_CASE("a VM that never reads costs only its own drops while others flow and stats keeps answering",
          "[integration][abuse]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto stalled = daemon.ok("start", echo_start("stalled"));
  const auto flowing = daemon.ok("start", echo_start("flowing"));
  FakeVmm stalled_vm(dir.path() + "/stalled.local", stalled["socket"]);
  FakeVmm flowing_vm(dir.path() + "/flowing.local", flowing["socket"]);
  REQUIRE(eventually([&] { return child_pid(daemon, "stalled") > 0 && child_pid(daemon, "flowing") > 0; }));

  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> stalled_sent{0};
  // The stalled VMM floods its attachment and never reads: the echoes fill its socket. It
  // keeps flooding until the test ends, or up to a bound far beyond any socket buffer this
  // kernel could give it (1 GiB in 1,000-byte frames). Bursts of 32 with a 1 ms pause:
  // without a spinning test thread taking the CPU the daemon needs on a shared 2-core machine.
  constexpr std::uint64_t k_stall_bound = 1'000'000;
  std::thread stall([&] {
    const auto frame = make_frame(stalled["mac"], 1000, 1);
    while (!done && stalled_sent < k_stall_bound) {
      for (int i = 0; i < 32; ++i) {
        if (::send(stalled_vm.fd(), frame.data(), frame.size(), MSG_DONTWAIT) > 0) ++stalled_sent;
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  // The condition under test is "one VM is full": drive it until it holds, the first
  // vm_full drop, instead of assuming how much this machine's socket buffers absorb.
  const auto vm_full_drops = [&] { return stats_of(daemon, "stalled")["drops"]["vm_full"].get<std::uint64_t>(); };
  REQUIRE(eventually([&] { return vm_full_drops() > 0 || stalled_sent >= k_stall_bound; }, 90s));
  INFO("stalled VM sent " << stalled_sent.load() << " frames");
  REQUIRE(vm_full_drops() > 0);

  // The flowing VMM sends as fast as the echo path allows (64 frames in flight) and checks
  // that every frame comes back, in order.
  constexpr std::uint32_t k_frames = 20'000;
  constexpr std::uint32_t k_window = 64;
  std::atomic<std::uint32_t> received{0};
  std::atomic<std::uint32_t> out_of_order{0};
  std::atomic<bool> flow_finished{false};
  std::thread flow([&] {
    std::vector<std::uint8_t> buffer(2048);
    std::uint32_t sent = 0;
    std::uint32_t got = 0;
    auto last_progress = Clock::now();
    while (got < k_frames && Clock::now() - last_progress < 3s) {
      while (sent < k_frames && sent - got < k_window) {
        const auto frame = numbered_frame(flowing["mac"], 1000, sent);
        if (::send(flowing_vm.fd(), frame.data(), frame.size(), 0) != static_cast<ssize_t>(frame.size())) break;
        ++sent;
      }
      pollfd pfd{flowing_vm.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) != 1) continue;
      while (::recv(flowing_vm.fd(), buffer.data(), buffer.size(), MSG_DONTWAIT) == 1000) {
        if (sequence_of(buffer.data()) != got) ++out_of_order;
        ++got;
        last_progress = Clock::now();
      }
      received = got;
    }
    received = got;
    flow_finished = true;
  });

  // Meanwhile: stats from a fresh connection every 20 ms, timed from the client (reported,
  // not asserted: this is a shared machine).
  std::vector<double> latencies_ms;
  do {
    const auto begin = Clock::now();
    auto client = squib::proto::ControlClient::connect(daemon.control_path(), 2s);
    REQUIRE(client.ok());
    auto reply = client.value().call("stats", json::object());
    const auto latency = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
    REQUIRE(reply.ok());
    REQUIRE(reply->ok());
    latencies_ms.push_back(latency);
    std::this_thread::sleep_for(20ms);
  } while (!flow_finished);
  flow.join();
  done = true;
  stall.join();

  CHECK(received == k_frames);
  CHECK(out_of_order == 0);
  REQUIRE_FALSE(latencies_ms.empty());
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double max_ms = latencies_ms.back();
  const double median_ms = latencies_ms[latencies_ms.size() / 2];
  WARN("stats under a stalled VM: " << latencies_ms.size() << " calls, median " << median_ms << " ms, max " << max_ms
                                    << " ms; stalled VM sent " << stalled_sent.load() << " frames");

  const auto flowing_stats = stats_of(daemon, "flowing");
  CHECK(flowing_stats["from_vm"]["frames"] == k_frames);
  CHECK(flowing_stats["to_vm"]["frames"] == k_frames);
  CHECK(flowing_stats["dropped_total"] == 0);
  // The stalled VM: its echoes beyond what its socket holds are vm_full drops, and every
  // frame the backend accepted is either delivered or counted.
  json stalled_stats;
  CHECK(eventually([&] {
    stalled_stats = stats_of(daemon, "stalled");
    return stalled_stats["to_vm"]["frames"].get<std::uint64_t>() +
               stalled_stats["drops"]["vm_full"].get<std::uint64_t>() ==
           stalled_stats["from_vm"]["frames"].get<std::uint64_t>();
  }));
  INFO(stalled_stats.dump());
  WARN("stalled VM: from_vm " << stalled_stats["from_vm"]["frames"] << ", to_vm " << stalled_stats["to_vm"]["frames"]
                              << ", vm_full " << stalled_stats["drops"]["vm_full"] << ", backend_full "
                              << stalled_stats["drops"]["backend_full"]);
  CHECK(stalled_stats["drops"]["vm_full"].get<std::uint64_t>() > 0);
  CHECK(stalled_stats["drops"]["peer_gone"] == 0);
  CHECK(stalled_stats["errors"] == 0);
  CHECK(daemon.ok("status")["attachments"] == 2);
}

TEST_CASE("a client that never reads its replies is closed once 1 MiB is queued", "[integration][abuse]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const int fd = connect_raw(daemon.control_path());
  REQUIRE(fd >= 0);
  // 20,000 status requests (~6 MB of replies) and not a byte read: the socket buffers fill,
  // then the daemon's queue, and at 1 MiB the daemon gives up on this client.
  std::string requests;
  for (int i = 0; i < 20'000; ++i)
    requests += R"({"jsonrpc":"2.0","id":1,"method":"status"})"
                "\n";
  send_all(fd, requests);  // may fail part-way: the daemon closes the connection
  CHECK(wait_closed(fd, 10s).has_value());
  ::close(fd);
  CHECK(eventually([&] { return daemon.log().find("does not read its replies; closing") != std::string::npos; }));
  CHECK(daemon.ok("status")["pid"] == daemon.pid());
}

TEST_CASE("SIGTERM with stalled clients connected: exit 0 within 2 s, nothing left", "[integration][abuse]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.ok("start", echo_start("vm1"));
  REQUIRE(eventually([&] { return child_pid(daemon, "vm1") > 0; }));
  const int child = child_pid(daemon, "vm1");
  // One client sent half a line and never reads; another queued ~600 KB of replies it never
  // reads (the daemon's write to it is pending when SIGTERM arrives).
  const int half = connect_raw(daemon.control_path());
  REQUIRE(half >= 0);
  REQUIRE(send_all(half, R"({"jsonrpc":"2.0","id":1,"method":"sta)"));
  const int greedy = connect_raw(daemon.control_path());
  REQUIRE(greedy >= 0);
  std::string requests;
  for (int i = 0; i < 3000; ++i)
    requests += R"({"jsonrpc":"2.0","id":1,"method":"status"})"
                "\n";
  REQUIRE(send_all(greedy, requests));
  std::this_thread::sleep_for(300ms);

  const auto begin = Clock::now();
  CHECK(daemon.stop(SIGTERM) == 0);
  const auto took = Clock::now() - begin;
  CHECK(took < 2s);
  WARN("SIGTERM with stalled clients: exit after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK_FALSE(process_alive(child));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/run/vm1.sock"));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/run/control.sock"));
  ::close(half);
  ::close(greedy);
}

TEST_CASE("least privilege: the daemon and its children keep only the listed capabilities",
          "[integration][privileges]") {
  TempDir dir;

  SECTION("after start-up: effective, permitted and bounding sets, no_new_privs, logged") {
    DaemonProcess daemon(dir.path());
    const pid_t pid = daemon.pid();
    // control.sock accepts (in the kernel's backlog) just before the drop; no request is read
    // until the loop runs, after it.
    REQUIRE(eventually([&] { return proc_status(pid, "NoNewPrivs") == "1"; }));
    CHECK(proc_caps(pid, "CapEff") == k_daemon_effective);
    CHECK(proc_caps(pid, "CapPrm") == k_kept);
    CHECK(proc_caps(pid, "CapBnd") == k_kept);
    CHECK(proc_caps(pid, "CapInh") == 0);
    CHECK(proc_caps(pid, "CapAmb") == 0);
    CHECK(proc_status(pid, "NoNewPrivs") == "1");
    CHECK(proc_status(pid, "Uid").rfind("0\t", 0) == 0);
    CHECK(eventually([&] {
      return daemon.log().find(
                 "privileges: effective cap_chown,cap_dac_override,cap_kill,cap_net_admin; permitted and "
                 "bounding cap_chown,cap_dac_override,cap_kill,cap_setgid,cap_setuid,"
                 "cap_net_bind_service,cap_net_admin,cap_net_raw; no_new_privs on") != std::string::npos;
    }));

    // A custom child (root, no drop of its own) holds the kept set and nothing more.
    daemon.ok("start", echo_start("vm1"));
    REQUIRE(eventually([&] { return child_pid(daemon, "vm1") > 0; }));
    const int child = child_pid(daemon, "vm1");
    CHECK(proc_caps(child, "CapPrm") == k_kept);
    CHECK(proc_caps(child, "CapBnd") == k_kept);
    CHECK(proc_status(child, "NoNewPrivs") == "1");
  }
  SECTION("passt, started as root, runs as nobody in a user namespace of its own") {
    DaemonProcess daemon(dir.path());
    daemon.ok("start", {{"name", "p1"}, {"mode", "userspace"}});
    REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running" && child_pid(daemon, "p1") > 0; }));
    const int passt = child_pid(daemon, "p1");
    REQUIRE(eventually([&] { return proc_status(passt, "Uid").rfind("65534\t", 0) == 0; }));
    // passt isolates itself in a user namespace of its own: any capability it shows there
    // (CAP_SYS_ADMIN, for its own mount namespace) is meaningless outside it.
    const auto user_ns = [](const std::string& pid) {
      return std::filesystem::read_symlink("/proc/" + pid + "/ns/user");
    };
    const bool own_user_ns = user_ns(std::to_string(passt)) != user_ns("self");
    CHECK((proc_caps(passt, "CapEff") == 0 || own_user_ns));
    CHECK(own_user_ns);
    // The daemon can still signal it (CAP_KILL): stop reaps it.
    daemon.ok("stop", {{"name", "p1"}});
    CHECK(eventually([&] { return !process_alive(passt); }));
  }
  SECTION("--keep-privileges skips the drop") {
    DaemonProcess daemon(dir.path(), {"--keep-privileges"});
    CHECK(proc_caps(daemon.pid(), "CapEff") == proc_caps(::getpid(), "CapEff"));
    CHECK(proc_status(daemon.pid(), "NoNewPrivs") == "0");
    CHECK(eventually(
        [&] { return daemon.log().find("--keep-privileges: keeping every capability") != std::string::npos; }));
  }
}

TEST_CASE("an unprivileged VMM uses its own attachment and nobody else's", "[integration][privileges]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  constexpr uid_t k_nobody = 65534;
  // The VMM's own directory: 0700 nobody, so only nobody (and CAP_DAC_OVERRIDE) reach its
  // socket, which nobody's umask 022 makes srwxr-xr-x: root needs the override to write it.
  const std::string home = dir.path() + "/vmm";
  REQUIRE(::mkdir(home.c_str(), 0700) == 0);
  REQUIRE(::chown(home.c_str(), k_nobody, k_nobody) == 0);
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  REQUIRE(::chmod(daemon.run_dir().c_str(), 0755) == 0);

  json params = echo_start("mine");
  params["owner"] = {{"uid", k_nobody}};  // gid = uid, no group access: 0600
  const auto mine = daemon.ok("start", params);
  const auto theirs = daemon.ok("start", echo_start("theirs"));  // root's
  REQUIRE(eventually([&] { return child_pid(daemon, "mine") > 0 && child_pid(daemon, "theirs") > 0; }));
  struct stat st {};
  REQUIRE(::lstat(mine["socket"].get<std::string>().c_str(), &st) == 0);
  CHECK(st.st_uid == k_nobody);
  CHECK((st.st_mode & 0777) == 0600);

  // Exit codes from the nobody process: 0 ok, 2 setup failed, 3 its own attachment did not
  // answer, 4 it could send to someone else's socket (or got a wrong error).
  const std::string mine_socket = mine["socket"];
  const std::string theirs_socket = theirs["socket"];
  const auto frame = make_frame(mine["mac"], 300, 3);
  const pid_t vmm = ::fork();
  if (vmm == 0) {
    ::umask(022);
    if (::setgroups(0, nullptr) != 0 || ::setgid(k_nobody) != 0 || ::setuid(k_nobody) != 0) ::_exit(2);
    const auto open_vm = [&](const std::string& local, const std::string& remote) {
      const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, local.c_str(), sizeof addr.sun_path - 1);
      if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(2);
      std::strncpy(addr.sun_path, remote.c_str(), sizeof addr.sun_path - 1);
      return std::pair{fd, ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno};
    };
    const auto [fd, connect_error] = open_vm(home + "/vm.sock", mine_socket);
    if (connect_error != 0) ::_exit(3);
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (::send(fd, frame.data(), frame.size(), 0) != static_cast<ssize_t>(frame.size())) ::_exit(3);
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 100) == 1) {
        std::vector<std::uint8_t> echoed(2048);
        const ssize_t n = ::recv(fd, echoed.data(), echoed.size(), 0);
        echoed.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        if (echoed != frame) ::_exit(3);
        const auto [other, other_error] = open_vm(home + "/other.sock", theirs_socket);
        (void)other;
        ::_exit(other_error == EACCES ? 0 : 4);
      }
    }
    ::_exit(3);
  }
  int status = 0;
  REQUIRE(::waitpid(vmm, &status, 0) == vmm);
  REQUIRE(WIFEXITED(status));
  INFO("daemon log:\n" << daemon.log());
  CHECK(WEXITSTATUS(status) == 0);
  const auto stats = stats_of(daemon, "mine");
  CHECK(stats["to_vm"]["frames"].get<std::uint64_t>() >= 1);
  CHECK(stats["errors"] == 0);
  CHECK(stats_of(daemon, "theirs")["from_vm"]["frames"] == 0);
}

namespace {

// Runs `body` in a child process with the given uid, gid and supplementary groups and
// returns its exit code (the body returns 0 for success, anything else names a failed step).
int run_as(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(100);
    ::_exit(body());
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("peer credentials: group members may act, others get -32003, root-only fields stay root's",
          "[integration][privileges]") {
  TempDir dir;
  constexpr gid_t k_group = 65534;  // Debian's nogroup: --group nogroup
  DaemonProcess daemon(dir.path(), {"--group", "nogroup"});
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // others may reach the run dir (0755)
  struct stat st {};
  REQUIRE(::stat(daemon.control_path().c_str(), &st) == 0);
  CHECK(st.st_gid == k_group);
  CHECK((st.st_mode & 0777) == 0660);
  const std::string control = daemon.control_path();
  const std::string run_dir = daemon.run_dir();

  SECTION("a member by primary or supplementary group is served") {
    const auto status_ok = [&] {
      auto client = squib::proto::ControlClient::connect(control, 2s);
      if (!client) return 1;
      auto reply = client.value().call("status", json::object());
      return reply.ok() && reply->ok() ? 0 : 2;
    };
    CHECK(run_as(12345, k_group, {}, status_ok) == 0);
    CHECK(run_as(12346, 12346, {k_group}, status_ok) == 0);
  }
  SECTION("a member's socket is its own (0600); owner, custom programs and paths are root's") {
    const int code = run_as(12345, k_group, {}, [&] {
      auto connected = squib::proto::ControlClient::connect(control, 5s);
      if (!connected) return 1;
      auto& client = connected.value();
      const auto refused = [&](const json& params, const std::string& message) {
        auto reply = client.call("start", params);
        return reply.ok() && reply->error_code == -32003 && reply->error_message == message;
      };
      if (!refused({{"name", "a"}, {"mode", "userspace"}, {"owner", {{"uid", 0}}}},
                   "owner: only root may attach a socket to another user")) {
        return 2;
      }
      if (!refused({{"name", "a"}, {"mode", "userspace"}, {"userspace", {{"kind", "custom"}, {"path", "/bin/sh"}}}},
                   "userspace.kind: custom programs may only be started by root")) {
        return 3;
      }
      if (!refused({{"name", "a"}, {"mode", "userspace"}, {"userspace", {{"kind", "passt"}, {"path", "/bin/sh"}}}},
                   "userspace.path: only root may choose the program; the daemon's configured path is used")) {
        return 4;
      }
      auto started = client.call("start", {{"name", "member"}, {"mode", "userspace"}});
      if (!started.ok() || !started->ok()) return 5;
      struct stat sock {};
      if (::lstat((run_dir + "/member.sock").c_str(), &sock) != 0) return 6;
      if (sock.st_uid != 12345 || sock.st_gid != k_group || (sock.st_mode & 0777) != 0600) return 7;
      return 0;
    });
    CHECK(code == 0);
    CHECK(daemon.ok("list").size() == 1);
  }
  SECTION("a non-member who can reach the socket file is refused by SO_PEERCRED with -32003") {
    // Defence in depth: even with the file mode opened up, the credentials check holds.
    REQUIRE(::chmod(control.c_str(), 0666) == 0);
    const int code = run_as(12347, 12347, {}, [&] {
      const int fd = connect_raw(control);
      if (fd < 0) return 1;
      const json reply = json::parse(read_line_or_eof(fd, 2s), nullptr, false);
      if (reply.is_discarded() || reply["error"]["code"] != -32003) return 2;
      if (reply["error"]["message"] !=
          "permission denied: uid 12347 is not root and not in the daemon's control group") {
        return 3;
      }
      return read_line_or_eof(fd, 2s) == "<eof>" ? 0 : 4;
    });
    CHECK(code == 0);
    CHECK(eventually([&] {
      return daemon.log().find("uid 12347 gid 12347: not root and not in the control group") != std::string::npos;
    }));
  }
  CHECK(daemon.ok("status")["pid"] == daemon.pid());
}

TEST_CASE("symlinks planted in the run dir are never followed", "[integration][abuse]") {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  const std::string target = dir.path() + "/precious";
  { std::ofstream(target) << "precious\n"; }
  const auto precious_intact = [&] {
    std::ifstream in(target);
    std::string text;
    std::getline(in, text);
    return text == "precious";
  };

  SECTION("the run dir itself: refused at start") {
    const std::string real = dir.path() + "/real";
    REQUIRE(::mkdir(real.c_str(), 0755) == 0);
    REQUIRE(::symlink(real.c_str(), run.c_str()) == 0);
    const std::string out = dir.path() + "/out";
    const std::string command = std::string(SQUIB_NETD_PATH) + " --run-dir " + run + " > " + out + " 2>&1";
    const int status = std::system(command.c_str());
    CHECK(WEXITSTATUS(status) == 1);
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str().find(run + " is a symlink; refusing to use it as the run dir") != std::string::npos);
    CHECK(std::filesystem::is_empty(real));
  }
  SECTION("state.json: not read, replaced by a regular file, its target untouched") {
    REQUIRE(::mkdir(run.c_str(), 0755) == 0);
    REQUIRE(::symlink(target.c_str(), (run + "/state.json").c_str()) == 0);
    DaemonProcess daemon(dir.path());
    CHECK(daemon.log().find("cannot read " + run + "/state.json: open " + run +
                            "/state.json: Too many levels of symbolic links; starting with no attachments") !=
          std::string::npos);
    daemon.ok("start", echo_start("vm1"));
    CHECK(std::filesystem::is_regular_file(std::filesystem::symlink_status(run + "/state.json")));
    CHECK(precious_intact());
  }
  SECTION("a per-VM socket path: start is refused, the link and its target stay") {
    DaemonProcess daemon(dir.path());
    REQUIRE(::symlink(target.c_str(), (run + "/evil.sock").c_str()) == 0);
    auto reply = daemon.call("start", echo_start("evil"));
    CHECK(reply.error_code == -32004);
    CHECK(reply.error_message == run + "/evil.sock exists and is not a socket; refusing to replace it");
    CHECK(std::filesystem::is_symlink(run + "/evil.sock"));
    CHECK(precious_intact());
    CHECK(daemon.ok("list").empty());
  }
}
