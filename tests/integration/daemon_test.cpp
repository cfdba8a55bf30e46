// Integration tests: the real squib-netd binary on a temporary run dir, driven over its real
// control socket, with frames sent through real AF_UNIX datagram sockets to real children
// (echo-peer, passt). Needs root (the daemon chowns sockets and runs passt as root→nobody).

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <thread>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {}  // namespace

TEST_CASE("control socket answers protocol errors and keeps serving", "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  auto client = daemon.connect();

  SECTION("malformed JSON gets -32700 and the same connection still works") {
    auto reply = client.exchange_raw("{\"jsonrpc\": \"2.0\", \"method\": \n");
    REQUIRE(reply.ok());
    CHECK(reply.value().find("\"code\":-32700") != std::string::npos);
    auto status = client.call("status", json::object());
    REQUIRE(status.ok());
    REQUIRE(status->ok());
    CHECK((*status->result)["pid"] == daemon.pid());
  }
  SECTION("unknown method gets -32601") {
    auto reply = client.call("reboot", json::object());
    REQUIRE(reply.ok());
    CHECK(reply->error_code == -32601);
    CHECK(reply->error_message == "method not found: reboot");
  }
  SECTION("bad params get -32602 naming the field") {
    auto mtu = client.call("start", {{"name", "vm1"}, {"mode", "userspace"}, {"mtu", "big"}});
    CHECK(mtu->error_code == -32602);
    CHECK(mtu->error_message == "invalid params: mtu: must be an integer from 68 to 65535");
    auto name = client.call("start", {{"name", "../etc"}, {"mode", "userspace"}});
    CHECK(name->error_code == -32602);
    CHECK(name->error_message.find("name: must match") != std::string::npos);
    auto missing = client.call("stop", json::object());
    CHECK(missing->error_message == "invalid params: name: is required");
  }
  SECTION("a line over 64 KiB gets -32600 and the connection is closed") {
    std::string huge(70 * 1024, 'x');
    auto reply = client.exchange_raw(huge);
    REQUIRE(reply.ok());
    CHECK(reply.value().find("\"code\":-32600") != std::string::npos);
    CHECK_FALSE(client.read_line().ok());  // closed by the daemon
    CHECK(daemon.ok("status")["attachments"] == 0);
  }
  SECTION("stop of an unknown attachment is -32001") {
    auto reply = client.call("stop", {{"name", "nope"}});
    CHECK(reply->error_code == -32001);
  }
}

TEST_CASE("frames flow VM -> child -> VM with exact counts", "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto started = daemon.ok("start", echo_start("vm1"));
  const std::string socket = started["socket"];
  const std::string mac = started["mac"];
  CHECK(socket == daemon.run_dir() + "/vm1.sock");
  CHECK(started["mtu"] == 1500);

  struct stat st {};
  REQUIRE(::lstat(socket.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);

  FakeVmm vm(dir.path() + "/vm1.local", socket);
  REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));

  SECTION("100 frames of varied sizes come back byte for byte") {
    std::size_t total = 0;
    for (std::size_t i = 0; i < 100; ++i) {
      const auto frame = make_frame(mac, 60 + (i * 97) % 1455, static_cast<std::uint8_t>(i));
      total += frame.size();
      vm.send(frame);
      const auto echoed = vm.receive();
      REQUIRE(echoed.has_value());
      CHECK(*echoed == frame);
    }
    const auto stats = stats_of(daemon, "vm1");
    CHECK(stats["from_vm"]["frames"] == 100);
    CHECK(stats["from_vm"]["bytes"] == total);
    CHECK(stats["to_vm"]["frames"] == 100);
    CHECK(stats["to_vm"]["bytes"] == total);
    CHECK(stats["dropped_total"] == 0);
    CHECK(stats["peer_connected"] == true);
  }
  SECTION("bad frames are dropped and counted by reason; nothing else changes") {
    vm.send(std::vector<std::uint8_t>(10, 0xab));      // runt
    vm.send(make_frame(mac, 1500 + 18 + 1, 1));        // over MTU + header + VLAN tag
    vm.send({'V', 'F', 'K', 'T'});                     // vfkit handshake
    vm.send(make_frame("02:00:00:00:00:66", 100, 2));  // someone else's MAC
    const auto good = make_frame(mac, 200, 3);
    vm.send(good);
    const auto echoed = vm.receive();
    REQUIRE(echoed.has_value());
    CHECK(*echoed == good);
    CHECK_FALSE(vm.receive(300ms).has_value());  // only the good frame came back
    const auto stats = stats_of(daemon, "vm1");
    CHECK(stats["drops"]["runt"] == 1);
    CHECK(stats["drops"]["oversize"] == 1);
    CHECK(stats["drops"]["spoofed_mac"] == 1);
    CHECK(stats["handshakes"] == 1);
    CHECK(stats["from_vm"]["frames"] == 1);
    CHECK(stats["to_vm"]["frames"] == 1);
  }
  SECTION("a burst is read and written in batches") {
    for (std::uint8_t i = 0; i < 200; ++i) vm.send(make_frame(mac, 1000, i));
    std::size_t received = 0;
    while (vm.receive(1s)) ++received;
    const auto stats = stats_of(daemon, "vm1");
    // Every frame is either delivered or counted; none vanish.
    CHECK(stats["from_vm"]["frames"].get<std::uint64_t>() + stats["dropped_total"].get<std::uint64_t>() >= 200);
    CHECK(stats["to_vm"]["frames"] == received);
    CHECK(stats["from_vm"]["mean_batch"].get<double>() >= 1.0);
  }
}

TEST_CASE("stop and SIGTERM leave no socket and no child", "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.ok("start", echo_start("a"));
  daemon.ok("start", echo_start("b"));
  REQUIRE(eventually([&] { return child_pid(daemon, "a") > 0 && child_pid(daemon, "b") > 0; }));
  const int pid_a = child_pid(daemon, "a");
  const int pid_b = child_pid(daemon, "b");

  SECTION("stop") {
    CHECK(daemon.ok("stop", {{"name", "a"}})["name"] == "a");
    CHECK_FALSE(path_exists(daemon.run_dir() + "/a.sock"));
    CHECK(eventually([&] { return !process_alive(pid_a); }));
    CHECK(process_alive(pid_b));
    CHECK(daemon.ok("list").size() == 1);
  }
  SECTION("SIGTERM") {
    const auto begin = std::chrono::steady_clock::now();
    CHECK(daemon.stop(SIGTERM) == 0);
    CHECK(std::chrono::steady_clock::now() - begin < 2s);
    CHECK_FALSE(path_exists(daemon.run_dir() + "/a.sock"));
    CHECK_FALSE(path_exists(daemon.run_dir() + "/b.sock"));
    CHECK_FALSE(path_exists(daemon.run_dir() + "/control.sock"));
    CHECK_FALSE(process_alive(pid_a));
    CHECK_FALSE(process_alive(pid_b));
  }
  SECTION("kill -9 of the daemon: children die with it, restart restores attachments") {
    const auto before = daemon.ok("list");
    CHECK(daemon.stop(SIGKILL) == 128 + SIGKILL);
    CHECK(eventually([&] { return !process_alive(pid_a) && !process_alive(pid_b); }));
    daemon.restart();
    const auto after = daemon.ok("list");
    REQUIRE(after.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
      CHECK(after[i]["name"] == before[i]["name"]);
      CHECK(after[i]["mac"] == before[i]["mac"]);
      CHECK(after[i]["socket"] == before[i]["socket"]);
    }
    FakeVmm vm(dir.path() + "/a.local", after[0]["socket"]);
    REQUIRE(eventually([&] { return child_pid(daemon, "a") > 0; }));
    const auto frame = make_frame(after[0]["mac"], 300, 7);
    vm.send(frame);
    const auto echoed = vm.receive();
    REQUIRE(echoed.has_value());
    CHECK(*echoed == frame);
  }
}

TEST_CASE("children are supervised: restarted when killed, failed when they cannot run", "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());

  SECTION("kill -9 of the child: it comes back and traffic flows again") {
    const auto started = daemon.ok("start", echo_start("vm1"));
    FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
    REQUIRE(eventually([&] { return child_pid(daemon, "vm1") > 0; }));
    const int first = child_pid(daemon, "vm1");
    ::kill(first, SIGKILL);
    REQUIRE(eventually([&] {
      const int now = child_pid(daemon, "vm1");
      return now > 0 && now != first && daemon.ok("list")[0]["state"] == "running";
    }));
    CHECK(stats_of(daemon, "vm1")["child_restarts"] == 1);
    const auto frame = make_frame(started["mac"], 128, 9);
    vm.send(frame);
    const auto echoed = vm.receive();
    REQUIRE(echoed.has_value());
    CHECK(*echoed == frame);
  }
  SECTION("a child that exits at once ends as failed with its last words, no busy loop") {
    daemon.ok("start", echo_start("bad", "fail"));
    REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "failed"; }, 20s));
    const auto entry = daemon.ok("list")[0];
    CHECK(entry["detail"].get<std::string>().find("echo-peer: failing on purpose") != std::string::npos);
    const auto restarts = stats_of(daemon, "bad")["child_restarts"].get<std::uint64_t>();
    CHECK(restarts == 4);  // 5 fast failures in a row: the first run and 4 restarts
    std::this_thread::sleep_for(500ms);
    CHECK(stats_of(daemon, "bad")["child_restarts"] == restarts);
  }
  SECTION("a bad length prefix from the child resets that link only") {
    const auto started = daemon.ok("start", echo_start("vm1", "badlen"));
    FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
    REQUIRE(eventually([&] { return child_pid(daemon, "vm1") > 0; }));
    vm.send(make_frame(started["mac"], 100, 1));
    REQUIRE(eventually([&] { return stats_of(daemon, "vm1")["child_restarts"] >= 1; }));
    CHECK(stats_of(daemon, "vm1")["errors"] >= 1);
    CHECK(daemon.ok("status")["attachments"] == 1);
  }
  SECTION("a missing binary is a clear error at start") {
    auto reply = daemon.call(
        "start",
        {{"name", "x"}, {"mode", "userspace"}, {"userspace", {{"kind", "passt"}, {"path", "/nonexistent/passt"}}}});
    CHECK(reply.error_code == -32004);
    CHECK(reply.error_message == "userspace passt: program not found or not executable: /nonexistent/passt");
    CHECK_FALSE(path_exists(daemon.run_dir() + "/x.sock"));
  }
}

TEST_CASE("the control socket refuses users who are neither root nor in the group", "[integration][root]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  struct stat st {};
  REQUIRE(::stat(daemon.control_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  // A child that drops to nobody (65534) and tries to connect.
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    auto client = squib::proto::ControlClient::connect(daemon.control_path());
    ::_exit(client.ok() ? 0 : (client.error().code == EACCES ? 20 : 30));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 20);
}

TEST_CASE("userspace links work in both framings: socketpair and gvproxy-style paths", "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  json userspace;
  SECTION("custom child over a datagram socketpair (vfkit framing)") {
    userspace = {
        {"kind", "custom"}, {"path", SQUIB_ECHO_PEER_PATH}, {"framing", "vfkit"}, {"args", {"{fd}", "echo", "dgram"}}};
  }
  SECTION("gvproxy preset, -listen-qemu unix:// (stream framing)") {
    userspace = {{"kind", "gvproxy"}, {"path", SQUIB_ECHO_PEER_PATH}};
  }
  SECTION("gvproxy preset, -listen-vfkit unixgram:// with the VFKT handshake") {
    userspace = {{"kind", "gvproxy"}, {"path", SQUIB_ECHO_PEER_PATH}, {"framing", "vfkit"}};
  }
  const auto started = daemon.ok("start", {{"name", "vm1"}, {"mode", "userspace"}, {"userspace", userspace}});
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));
  std::size_t total = 0;
  for (std::uint8_t i = 0; i < 50; ++i) {
    const auto frame = make_frame(started["mac"], 64 + i * 29U, i);
    total += frame.size();
    vm.send(frame);
    const auto echoed = vm.receive();
    REQUIRE(echoed.has_value());
    CHECK(*echoed == frame);
  }
  const auto stats = stats_of(daemon, "vm1");
  CHECK(stats["from_vm"]["frames"] == 50);
  CHECK(stats["to_vm"]["frames"] == 50);
  CHECK(stats["to_vm"]["bytes"] == total);
  CHECK(stats["dropped_total"] == 0);
  daemon.ok("stop", {{"name", "vm1"}});
  // gvproxy's sockets in the run dir go with the attachment.
  CHECK(eventually([&] {
    for (const auto& entry : std::filesystem::directory_iterator(daemon.run_dir())) {
      if (entry.path().filename().string().rfind("vm1.", 0) == 0) return false;
    }
    return true;
  }));
}

TEST_CASE("fd passing: the VM end of a socketpair arrives with the start reply", "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());

  SECTION("a client receives the fd over SCM_RIGHTS and exchanges frames on it") {
    auto client = daemon.connect();
    json params = echo_start("vz1");
    params["fd_passing"] = true;
    auto reply = client.call("start", params);
    REQUIRE(reply.ok());
    REQUIRE(reply->ok());
    CHECK((*reply->result)["socket"].is_null());
    const int fd = client.take_received_fd();
    REQUIRE(fd >= 0);
    CHECK_FALSE(path_exists(daemon.run_dir() + "/vz1.sock"));
    REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));
    const auto frame = make_frame((*reply->result)["mac"], 600, 4);
    REQUIRE(::send(fd, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()));
    pollfd pfd{fd, POLLIN, 0};
    REQUIRE(::poll(&pfd, 1, 5000) == 1);
    std::vector<std::uint8_t> echoed(2000);
    const ssize_t n = ::recv(fd, echoed.data(), echoed.size(), 0);
    REQUIRE(n == static_cast<ssize_t>(frame.size()));
    echoed.resize(static_cast<std::size_t>(n));
    CHECK(echoed == frame);
    CHECK(daemon.ok("list")[0]["peer_connected"] == true);
    // The human list shows it (it has no socket path: once a crash, rc 134).
    const auto listed = run_command(std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() + " list");
    REQUIRE(listed.exit_code == 0);
    const std::string& table = listed.output;
    CHECK(table.find("vz1") != std::string::npos);
    CHECK(table.find("(fd passed)") != std::string::npos);
    ::close(fd);
    // fd-passing attachments are not persisted: no restart could hand the fd back.
    CHECK(daemon.log().find("vz1") != std::string::npos);
    std::ifstream state(daemon.run_dir() + "/state.json");
    const std::string text((std::istreambuf_iterator<char>(state)), std::istreambuf_iterator<char>());
    CHECK(text.find("vz1") == std::string::npos);
  }
  SECTION("squib-netctl --fd-passing --exec runs a command holding the fd; the attachment ends with it") {
    const std::string out = dir.path() + "/exec.out";
    const std::string command = std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() +
                                " start vz2 --mode userspace --userspace custom --userspace-path " +
                                SQUIB_ECHO_PEER_PATH +
                                " --userspace-arg {fd} --userspace-arg echo --fd-passing --exec -- sh -c " +
                                "'echo fd=$SQUIB_NET_FD arg={fd} $(readlink /proc/self/fd/$SQUIB_NET_FD)' > " + out;
    REQUIRE(std::system(command.c_str()) == 0);
    std::ifstream in(out);
    std::string fd_word, arg_word, target;
    in >> fd_word >> arg_word >> target;
    CHECK(fd_word.rfind("fd=", 0) == 0);
    CHECK(arg_word == "arg=" + fd_word.substr(3));
    CHECK(target.rfind("socket:[", 0) == 0);
    // The attachment lived as long as the command: stopped, its child gone.
    CHECK(daemon.ok("list").empty());
    CHECK(eventually([&] { return daemon.log().find("vz2: stopped") != std::string::npos; }));
  }
  SECTION("--exec passes the command's exit status through") {
    const std::string command = std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() +
                                " start vz3 --mode userspace --userspace custom --userspace-path " +
                                SQUIB_ECHO_PEER_PATH +
                                " --userspace-arg {fd} --userspace-arg echo --fd-passing --exec -- sh -c 'exit 7'";
    const int status = std::system(command.c_str());
    CHECK(WEXITSTATUS(status) == 7);
    CHECK(daemon.ok("list").empty());
  }
}
