// `start` with handoff (backend/tap_handoff_backend.hpp): the daemon prepares a TAP that an
// unprivileged VMM opens itself. Real accounts (useradd, removed at the end) in a real control
// group talk to a real squib-netd, which runs in a network namespace this test makes
// (unshare: the namespace, its bridge, dnsmasq, TAPs and nft tables vanish with it). The
// "VMM" is tests/support/tap_peer.cpp run as the account, in the daemon's namespace: it
// opens the TAP exactly as Firecracker or QEMU would (TUNSETIFF by name, or the passed fd).
// The proof is the kernel's own behaviour: the bridge answers ARP, frames that break the
// policy never come back answered, and the nft counters say why, through `stats`.
// Network safety: 192.168.105.0/24 exists only inside the test's namespace.

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/member.hpp"
#include "support/netns.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;
using squib::proto::ControlClient;
using squib::proto::Response;

namespace {

constexpr int k_permission_denied = -32003;
constexpr int k_invalid_params = -32602;

bool on_path(const char* tool) {
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
    if (::access((std::string(dir) + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// These tests need root, dnsmasq, nft and nsenter (scripts/setup installs them; CI runs as
// root). Without them they fail: a test that passes without running would hide a gap.
void require_runnable() {
  INFO("needs root, dnsmasq, nft and nsenter");
  REQUIRE((::geteuid() == 0 && on_path("dnsmasq") && on_path("nft") && on_path("nsenter")));
}

// A daemon serving a control group with two members, in a namespace of its own.
struct Rig {
  TestGroup group{"h"};
  TestAccount alice{"ha", group.name()};
  TestAccount bob{"hb", group.name()};
  TempDir dir;
  std::optional<DaemonProcess> daemon;

  Rig() {
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // members reach the run dir, as /run/squib-net
    REQUIRE(::mkdir((dir.path() + "/peers").c_str(), 0777) == 0);
    REQUIRE(::chmod((dir.path() + "/peers").c_str(), 0777) == 0);  // the peers' sockets
    InNewNetns netns;
    REQUIRE(std::system("ip link set lo up") == 0);
    daemon.emplace(dir.path(), std::vector<std::string>{"--group", group.name()});
    REQUIRE(netns.leave());
  }

  ControlClient connect_as(MemberProcess& member) const {
    auto client = member.connect(daemon->control_path());
    INFO("member connect: " << (client ? "" : client.error().message));
    REQUIRE(client.ok());
    return std::move(client.value());
  }

  // A shell command in the daemon's namespace.
  [[nodiscard]] CommandRun in_netns(const std::string& command) const { return run_in_netns_of(*daemon, command); }
  [[nodiscard]] bool link_exists(const std::string& ifname) const {
    return in_netns("ip link show dev " + ifname).exit_code == 0;
  }
  [[nodiscard]] bool table_exists(const std::string& table) const {
    return in_netns("nft list table bridge " + table).exit_code == 0;
  }
};

std::string table_of(const std::string& tap) { return "squib_tap_" + tap.substr(3); }

// tap-peer run as `account` (root when null) in the namespace of process `netns_pid`, with
// `pass_fd` (if >= 0) as its fd 3. Its stdout and stderr come back through a pipe.
class TapPeer {
 public:
  TapPeer(const TestAccount* account, pid_t netns_pid, std::vector<std::string> args, int pass_fd = -1) {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      const int ns = ::open(("/proc/" + std::to_string(netns_pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) ::_exit(125);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      if (pass_fd >= 0 && ::dup2(pass_fd, 3) != 3) ::_exit(125);
      if (account != nullptr) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(account->gid(), account->gid(), account->gid()) != 0 ||
            ::setresuid(account->uid(), account->uid(), account->uid()) != 0) {
          ::_exit(125);
        }
      }
      std::vector<char*> argv{const_cast<char*>(SQUIB_TAP_PEER_PATH)};
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    m_out = out[0];
  }
  ~TapPeer() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
    ::close(m_out);
  }
  TapPeer(const TapPeer&) = delete;
  TapPeer& operator=(const TapPeer&) = delete;

  // Output until `needle` appears or the peer closes its end (bounded).
  std::string read_until(const std::string& needle, std::chrono::milliseconds timeout = 15s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (m_output.find(needle) == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd p{m_out, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buffer[512];
      const ssize_t n = ::read(m_out, buffer, sizeof buffer);
      if (n <= 0) break;
      m_output.append(buffer, static_cast<std::size_t>(n));
    }
    return m_output;
  }
  // Waits (bounded) for the peer to exit; its exit code, or -1.
  int wait(std::chrono::milliseconds timeout = 20s) {
    int status = 0;
    const bool exited = eventually([&] { return ::waitpid(m_pid, &status, WNOHANG) == m_pid; }, timeout);
    if (!exited) return -1;
    m_pid = -1;
    read_until("\x01", 100ms);  // collect the rest
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  [[nodiscard]] const std::string& output() const { return m_output; }
  [[nodiscard]] pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
  int m_out = -1;
  std::string m_output;
};

// A relaying tap-peer for `tap` run as `account`, and the test's side of it.
struct RelayedTap {
  std::string local;
  std::string peer;
  TapPeer process;
  std::optional<FakeVmm> vm;

  RelayedTap(const Rig& rig, const TestAccount& account, const std::string& tap, const std::string& stem)
      : local(rig.dir.path() + "/peers/" + stem + ".peer"),
        peer(rig.dir.path() + "/peers/" + stem + ".test"),
        process(&account, rig.daemon->pid(), {"--name", tap, "relay", local, peer}) {
    const std::string said = process.read_until("ready");
    INFO(said);
    REQUIRE(said.find("ready") != std::string::npos);
    vm.emplace(peer, local);
    REQUIRE(::chmod(peer.c_str(), 0666) == 0);  // the peer (the account) sends to it
    // The bridge drops a port's frames (before any nft hook) until the kernel's link watch
    // has seen the TAP's carrier, which it does at most once a second: wait for that, or a
    // frame sent at once may be lost and a test flake.
    INFO("bridge port " << tap << " forwarding");
    REQUIRE(eventually(
        [&] {
          return rig.in_netns("bridge link show dev " + tap).output.find("state forwarding") != std::string::npos;
        },
        std::chrono::seconds(10)));
  }
};

std::uint64_t drops(const DaemonProcess& daemon, const std::string& name, const std::string& reason) {
  return stats_of(daemon, name)["drops"][reason].get<std::uint64_t>();
}

}  // namespace

TEST_CASE("handoff tap: the owner opens the TAP by name and reaches the gateway, and nobody else can open or stop it",
          "[integration][handoff][root]") {
  require_runnable();
  Rig rig;
  MemberProcess alice(rig.alice);
  MemberProcess bob(rig.bob);
  auto as_alice = rig.connect_as(alice);
  auto as_bob = rig.connect_as(bob);

  const auto started = ok(as_alice, "start", {{"name", "a1"}, {"mode", "host"}, {"handoff", "tap"}});
  CHECK(started["socket"].is_null());
  const std::string tap = started["tap"];
  CHECK(tap.starts_with("sq-"));
  CHECK(started["network"]["tap"] == tap);
  const std::string mac = started["mac"];
  const std::string address = started["network"]["address"];
  const std::string gateway = started["network"]["gateway"];

  // Persistent, owned by alice (uid and group), on the network's bridge, with its table.
  const auto link = rig.in_netns("ip -d link show dev " + tap);
  INFO(link.output);
  CHECK(link.output.find("tun type tap") != std::string::npos);
  CHECK(link.output.find("persist on") != std::string::npos);
  CHECK(link.output.find("user " + rig.alice.name()) != std::string::npos);
  CHECK(link.output.find("master " + started["network"]["bridge"].get<std::string>()) != std::string::npos);
  CHECK(rig.table_exists(table_of(tap)));

  const auto listed = ok(as_alice, "list");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["tap"] == tap);
  CHECK(listed[0]["socket"].is_null());
  CHECK(listed[0]["state"] == "running");

  // Alice's "VMM" opens the TAP by name, asks for the gateway and gets the bridge's answer.
  TapPeer vmm(&rig.alice, rig.daemon->pid(), {"--name", tap, "arp", mac, address, gateway});
  CHECK(vmm.wait() == 0);
  INFO(vmm.output());
  CHECK(vmm.output().find("arp reply from " + gateway) != std::string::npos);
  CHECK(eventually([&] { return stats_of(*rig.daemon, "a1")["from_vm"]["frames"].get<std::uint64_t>() >= 1; }));
  CHECK(eventually([&] { return stats_of(*rig.daemon, "a1")["to_vm"]["frames"].get<std::uint64_t>() >= 1; }));

  // Bob can neither open alice's TAP (the kernel refuses: TUNSETOWNER) nor stop it.
  TapPeer intruder(&rig.bob, rig.daemon->pid(), {"--name", tap, "arp", mac, address, gateway});
  CHECK(intruder.wait() == 1);
  CHECK(intruder.output().find("TUNSETIFF " + tap + ": Operation not permitted") != std::string::npos);
  const auto refused = call(as_bob, "stop", {{"name", "a1"}});
  CHECK(refused.error_code == k_permission_denied);
  CHECK(refused.error_message == "attachment 'a1' belongs to uid " + std::to_string(rig.alice.uid()) +
                                     ": members may act only on their own attachments (root on all)");
  // … nor name another owner.
  const auto owner = call(
      as_bob, "start", {{"name", "b1"}, {"mode", "host"}, {"handoff", "tap"}, {"owner", {{"uid", rig.alice.uid()}}}});
  CHECK(owner.error_code == k_permission_denied);
  CHECK(rig.link_exists(tap));

  // Bad combinations are refused, naming the field.
  const auto userspace = call(as_alice, "start", {{"name", "u1"}, {"mode", "userspace"}, {"handoff", "tap"}});
  CHECK(userspace.error_code == k_invalid_params);
  CHECK(userspace.error_message == "invalid params: handoff: userspace attachments take only fd (passt's socket)");

  ok(as_alice, "stop", {{"name", "a1"}});
  CHECK(eventually([&] { return !rig.link_exists(tap) && !rig.table_exists(table_of(tap)); }));
}

TEST_CASE("handoff tap: frames that break the policy are dropped by the kernel and counted by reason",
          "[integration][handoff][spoofing][root]") {
  require_runnable();
  Rig rig;
  MemberProcess alice(rig.alice);
  auto as_alice = rig.connect_as(alice);
  const auto started = ok(as_alice, "start", {{"name", "a1"}, {"mode", "host"}, {"handoff", "tap"}});
  const std::string tap = started["tap"];
  const Mac mac = parse_mac(started["mac"]);
  const Ipv4 address = parse_ipv4(started["network"]["address"]);
  const Ipv4 gateway = parse_ipv4(started["network"]["gateway"]);
  const std::string address_text = started["network"]["address"];
  const Ipv4 stranger = parse_ipv4(address_text == "192.168.105.250" ? "192.168.105.251" : "192.168.105.250");
  const Mac other{0x02, 0x00, 0x00, 0x00, 0x00, 0x66};
  RelayedTap guest(rig, rig.alice, tap, "a1");
  const FakeVmm& vm = *guest.vm;

  const auto mentions_stranger = [&](const Bytes& f) {
    return (f.size() >= 42 && be16(f, 12) == 0x0806 && (ipv4_at(f, 28, stranger) || ipv4_at(f, 38, stranger))) ||
           (f.size() >= 34 && be16(f, 12) == 0x0800 && ipv4_at(f, 30, stranger));
  };
  // Spoofed: another source MAC; the right MAC but another sender MAC in the ARP; ARP and
  // ICMP from another address; a rogue DHCP server; a router advertisement.
  vm.send(arp_request(other, other, address, gateway));
  vm.send(arp_request(mac, other, address, gateway));
  vm.send(arp_request(mac, mac, stranger, gateway));
  vm.send(icmp_echo(k_broadcast, mac, stranger, gateway, 0x5252));
  vm.send(dhcp_offer_from(mac, address));
  vm.send(router_advertisement(mac, link_local_of(mac)));
  // IPv6: a DHCPv6 server, an NA claiming another guest's link-local address, an echo request
  // from it.
  const Ipv6 own6 = link_local_of(mac);
  const Ipv6 stranger6 = link_local_of(other);
  vm.send(dhcpv6_advertise(mac, own6));
  vm.send(neighbour_advertisement(k_all_nodes_mac, mac, own6, k_all_nodes, stranger6));
  vm.send(icmpv6_echo(k_all_nodes_mac, mac, stranger6, k_all_nodes, 0x5454));
  CHECK_FALSE(receive_matching(
                  vm,
                  [&](const Bytes& f) {
                    return mentions_stranger(f) || ipv6_at(f, 14 + 24, stranger6) ||
                           is_neighbour_solicitation(f, stranger6);
                  },
                  1s)
                  .has_value());
  CHECK(eventually([&] {
    return drops(*rig.daemon, "a1", "spoofed_mac") == 2 && drops(*rig.daemon, "a1", "spoofed_ip") == 4 &&
           drops(*rig.daemon, "a1", "dhcp_server") == 2 && drops(*rig.daemon, "a1", "router_advertisement") == 1;
  }));
  const auto stats = stats_of(*rig.daemon, "a1");
  INFO(stats.dump());
  // (vm_full is the TAP's tx_dropped: frames for the guest before its VMM opened the TAP.)
  CHECK(stats["dropped_total"].get<std::uint64_t>() - stats["drops"]["vm_full"].get<std::uint64_t>() == 9);
  CHECK(stats["drops"]["isolated"] == 0);

  // The guest's own address still works: ARP and ping answered by the bridge.
  vm.send(arp_request(mac, mac, address, gateway));
  const auto reply = receive_matching(
      vm, [&](const Bytes& f) { return is_arp_reply(f, gateway, address); }, 5s);
  REQUIRE(reply.has_value());
  const Mac bridge_mac{(*reply)[22], (*reply)[23], (*reply)[24], (*reply)[25], (*reply)[26], (*reply)[27]};
  vm.send(icmp_echo(bridge_mac, mac, address, gateway, 0x5353));
  CHECK(receive_matching(
            vm, [&](const Bytes& f) { return is_echo_reply(f, gateway, address, 0x5353); }, 5s)
            .has_value());
  // A DHCPDISCOVER from 0.0.0.0 is a client's: it passes and dnsmasq offers the lease.
  vm.send(dhcp_discover(mac, 0x5151));
  const auto offer = receive_matching(
      vm,
      [&](const Bytes& f) {
        return f.size() >= 42 + 16 && be16(f, 12) == 0x0800 && ipv4_at(f, 14 + 20 + 8 + 16, address);
      },
      10s);
  CHECK(offer.has_value());
  // IPv6 from the guest's link-local address passes (its NA for itself too).
  CHECK(ipv6_echo_answered(vm, mac, own6, 0x5555, 10s));
  const auto after = stats_of(*rig.daemon, "a1");
  CHECK(after["dropped_total"].get<std::uint64_t>() - after["drops"]["vm_full"].get<std::uint64_t>() == 9);
}

TEST_CASE("handoff tap: isolated TAPs cannot reach each other, only the gateway, and the drops are counted",
          "[integration][handoff][root]") {
  require_runnable();
  Rig rig;
  MemberProcess alice(rig.alice);
  auto as_alice = rig.connect_as(alice);
  const auto isolated = GENERATE(true, false);
  const auto one =
      ok(as_alice, "start", {{"name", "i1"}, {"mode", "host"}, {"handoff", "tap"}, {"isolation", isolated}});
  const auto two =
      ok(as_alice, "start", {{"name", "i2"}, {"mode", "host"}, {"handoff", "tap"}, {"isolation", isolated}});
  RelayedTap first(rig, rig.alice, one["tap"], "i1");
  RelayedTap second(rig, rig.alice, two["tap"], "i2");
  const Mac mac1 = parse_mac(one["mac"]);
  const Ipv4 address1 = parse_ipv4(one["network"]["address"]);
  const Ipv4 address2 = parse_ipv4(two["network"]["address"]);
  const Ipv4 gateway = parse_ipv4(one["network"]["gateway"]);

  // i1 asks for i2's address (a broadcast the bridge floods to every port).
  const auto asks_for_two = [&](const Bytes& f) {
    return f.size() >= 42 && be16(f, 12) == 0x0806 && ipv4_at(f, 28, address1) && ipv4_at(f, 38, address2);
  };
  first.vm->send(arp_request(mac1, mac1, address1, address2));
  const bool arrived = receive_matching(*second.vm, asks_for_two, isolated ? 1s : 5s).has_value();
  CHECK(arrived == !isolated);
  // Both TAPs' tables drop such a frame (one as it leaves i1, the other as it would reach
  // i2); whichever table the kernel runs first counts it.
  const auto isolated_drops = [&] {
    return drops(*rig.daemon, "i1", "isolated") + drops(*rig.daemon, "i2", "isolated");
  };
  if (isolated) {
    CHECK(eventually([&] { return isolated_drops() >= 1; }));
  } else {
    CHECK(isolated_drops() == 0);
  }
  // The gateway answers either way.
  first.vm->send(arp_request(mac1, mac1, address1, gateway));
  CHECK(receive_matching(
            *first.vm, [&](const Bytes& f) { return is_arp_reply(f, gateway, address1); }, 5s)
            .has_value());
}

TEST_CASE(
    "handoff tap: kill -9 leaves the TAP working, a restart adopts it with its counters, and stop and SIGTERM remove "
    "everything",
    "[integration][handoff][root]") {
  require_runnable();
  Rig rig;
  DaemonProcess& daemon = *rig.daemon;
  const auto started = daemon.ok("start", {{"name", "k1"}, {"mode", "host"}, {"handoff", "tap"}});
  const std::string tap = started["tap"];
  const std::string mac_text = started["mac"];
  const Mac mac = parse_mac(mac_text);
  const Ipv4 address = parse_ipv4(started["network"]["address"]);
  const Ipv4 gateway = parse_ipv4(started["network"]["gateway"]);
  const Mac other{0x02, 0x00, 0x00, 0x00, 0x00, 0x77};
  const auto ifindex = [&] { return rig.in_netns("ip -o link show dev " + tap + " | cut -d: -f1").output; };
  const std::string index_before = ifindex();
  // Root's TAP (the owner defaults to the caller): alice cannot open it.
  TapPeer refused(&rig.alice, daemon.pid(), {"--name", tap, "arp", mac_text, "192.168.105.9", "192.168.105.1"});
  CHECK(refused.wait() == 1);

  // A root "VMM" holds the TAP through it all (and keeps the namespace alive meanwhile).
  TapPeer vmm(nullptr, daemon.pid(),
              {"--name", tap, "relay", rig.dir.path() + "/peers/k1.peer", rig.dir.path() + "/peers/k1.test"});
  REQUIRE(vmm.read_until("ready").find("ready") != std::string::npos);
  FakeVmm vm(rig.dir.path() + "/peers/k1.test", rig.dir.path() + "/peers/k1.peer");
  vm.send(arp_request(other, other, address, gateway));
  CHECK(eventually([&] { return drops(daemon, "k1", "spoofed_mac") == 1; }));
  CHECK(eventually([&] { return daemon.ok("list")[0]["peer_connected"] == true; }));

  CHECK(daemon.stop(SIGKILL) == 128 + SIGKILL);
  // The VM keeps its network while no daemon runs: TAP, rules and bridge stay.
  vm.send(arp_request(mac, mac, address, gateway));
  CHECK(receive_matching(
            vm, [&](const Bytes& f) { return is_arp_reply(f, gateway, address); }, 5s)
            .has_value());
  vm.send(arp_request(other, other, address, gateway));  // still dropped, and counted, by the kernel

  {
    InNewNetns netns(vmm.pid());
    daemon.restart();
    REQUIRE(netns.leave());
  }
  // Adopted: the same interface (never recreated), on the new bridge, counters kept.
  CHECK(eventually(
      [&] {
        const auto list = daemon.ok("list");
        return list.size() == 1 && list[0]["state"] == "running" && list[0]["tap"] == tap;
      },
      10s));
  CHECK(ifindex() == index_before);
  CHECK(eventually([&] { return drops(daemon, "k1", "spoofed_mac") == 2; }));
  vm.send(arp_request(mac, mac, address, gateway));
  CHECK(receive_matching(
            vm, [&](const Bytes& f) { return is_arp_reply(f, gateway, address); }, 10s)
            .has_value());

  daemon.ok("stop", {{"name", "k1"}});
  CHECK(eventually([&] { return !rig.link_exists(tap) && !rig.table_exists(table_of(tap)); }));
  CHECK(vmm.wait() == 0);  // the VMM saw its TAP go away

  // SIGTERM removes a handed-off TAP and its table too (state keeps the attachment).
  const auto again = daemon.ok("start", {{"name", "k2"}, {"mode", "host"}, {"handoff", "tap"}});
  const std::string tap2 = again["tap"];
  CHECK(rig.link_exists(tap2));
  const pid_t old_pid = daemon.pid();
  const std::string tables_after = [&] {
    InNewNetns netns(old_pid);  // keep a handle on the namespace past the daemon's exit
    CHECK(daemon.stop(SIGTERM) == 0);
    const auto listed = run_command("nft list tables 2>&1; ip -o link show 2>&1");
    REQUIRE(netns.leave());
    return listed.output;
  }();
  INFO(tables_after);
  CHECK(tables_after.find("squib_tap_") == std::string::npos);
  CHECK(tables_after.find(tap2) == std::string::npos);
}

TEST_CASE("handoff fd: the open TAP comes with the reply and squib-netctl --handoff fd --exec runs a VMM holding it",
          "[integration][handoff][root]") {
  require_runnable();
  Rig rig;
  MemberProcess alice(rig.alice);
  auto as_alice = rig.connect_as(alice);

  SECTION("over the protocol") {
    const auto started = ok(as_alice, "start", {{"name", "f1"}, {"mode", "host"}, {"handoff", "fd"}});
    CHECK(started["socket"].is_null());
    const std::string tap = started["tap"];
    const int fd = as_alice.take_received_fd();
    REQUIRE(fd >= 0);
    // Alice's "VMM" gets the fd (it need not open anything) and reaches the gateway.
    TapPeer vmm(&rig.alice, rig.daemon->pid(),
                {"--fd", "3", "arp", started["mac"], started["network"]["address"], started["network"]["gateway"]}, fd);
    ::close(fd);
    CHECK(vmm.wait() == 0);
    INFO(vmm.output());
    CHECK(vmm.output().find("arp reply from") != std::string::npos);
    CHECK(rig.table_exists(table_of(tap)));
    ok(as_alice, "stop", {{"name", "f1"}});
    CHECK(eventually([&] { return !rig.link_exists(tap) && !rig.table_exists(table_of(tap)); }));
  }

  SECTION("through squib-netctl, run as the member") {
    std::string output;
    const int rc = run_as_account(rig.alice,
                                  std::string(SQUIB_NETCTL_PATH) + " --control " + rig.daemon->control_path() +
                                      " start f2 --mode host --handoff fd --mac 02:00:00:00:f2:02 "
                                      "--address 192.168.105.42 --exec -- " SQUIB_TAP_PEER_PATH
                                      " --fd {fd} arp 02:00:00:00:f2:02 192.168.105.42 192.168.105.1",
                                  output);
    INFO(output);
    CHECK(rc == 0);
    CHECK(output.find("arp reply from 192.168.105.1") != std::string::npos);
    // The attachment lived exactly as long as the command.
    CHECK(rig.daemon->ok("list").empty());
    CHECK(rig.in_netns("nft list tables").output.find("squib_tap_") == std::string::npos);
  }
}

TEST_CASE(
    "handoff tap in bridged mode: the TAP joins the operator's bridge with MAC checks only, and stop leaves the "
    "bridge alone",
    "[integration][handoff][root]") {
  require_runnable();
  Rig rig;
  // The operator's bridge, with an address that answers ARP (10.99.0.0/24 exists only here).
  REQUIRE(rig.in_netns("sh -c 'ip link add sqt-br0 type bridge && ip addr add 10.99.0.1/24 dev sqt-br0 && "
                       "ip link set sqt-br0 up'")
              .exit_code == 0);
  const auto started = rig.daemon->ok("start", {{"name", "br1"},
                                                {"mode", "bridged"},
                                                {"bridge", "sqt-br0"},
                                                {"handoff", "tap"},
                                                {"owner", {{"uid", rig.alice.uid()}, {"gid", rig.alice.gid()}}}});
  const std::string tap = started["tap"];
  CHECK(started["network"]["bridge"] == "sqt-br0");
  const auto link = rig.in_netns("ip -d link show dev " + tap);
  INFO(link.output);
  CHECK(link.output.find("master sqt-br0") != std::string::npos);
  CHECK(link.output.find("user " + rig.alice.name()) != std::string::npos);  // root named the owner

  RelayedTap guest(rig, rig.alice, tap, "br1");
  const Mac mac = parse_mac(started["mac"]);
  const Mac other{0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
  // No address is known on an operator's bridge: any IPv4 source passes, another MAC does not.
  guest.vm->send(arp_request(other, other, {10, 99, 0, 5}, {10, 99, 0, 1}));
  guest.vm->send(arp_request(mac, mac, {10, 99, 0, 5}, {10, 99, 0, 1}));
  CHECK(receive_matching(
            *guest.vm,
            [&](const Bytes& f) {
              return is_arp_reply(f, {10, 99, 0, 1}, {10, 99, 0, 5});
            },
            5s)
            .has_value());
  CHECK(eventually([&] { return drops(*rig.daemon, "br1", "spoofed_mac") == 1; }));
  CHECK(drops(*rig.daemon, "br1", "spoofed_ip") == 0);

  rig.daemon->ok("stop", {{"name", "br1"}});
  CHECK(eventually([&] { return !rig.link_exists(tap) && !rig.table_exists(table_of(tap)); }));
  CHECK(rig.link_exists("sqt-br0"));
}

TEST_CASE("handoff tap: a restarted daemon removes the TAP and table of an attachment its state no longer records",
          "[integration][handoff][stale][root]") {
  require_runnable();
  Rig rig;
  DaemonProcess& daemon = *rig.daemon;
  const std::string tap = daemon.ok("start", {{"name", "s1"}, {"mode", "host"}, {"handoff", "tap"}})["tap"];
  const std::string kept = daemon.ok("start", {{"name", "s2"}, {"mode", "host"}, {"handoff", "tap"}})["tap"];
  // Something that keeps the namespace alive while no daemon runs (it holds s1's TAP).
  TapPeer holder(nullptr, daemon.pid(),
                 {"--name", tap, "relay", rig.dir.path() + "/peers/s1.peer", rig.dir.path() + "/peers/s1.test"});
  REQUIRE(holder.read_until("ready").find("ready") != std::string::npos);
  CHECK(daemon.stop(SIGKILL) == 128 + SIGKILL);
  // s1 vanishes from the state file, as if the crash came between recording its stop and
  // removing its TAP; s2 stays recorded.
  {
    std::ifstream in(daemon.run_dir() + "/state.json");
    json state = json::parse(in);
    auto& attachments = state["attachments"];
    attachments.erase(
        std::remove_if(attachments.begin(), attachments.end(), [](const json& entry) { return entry["name"] == "s1"; }),
        attachments.end());
    std::ofstream(daemon.run_dir() + "/state.json") << state.dump();
  }
  {
    InNewNetns netns(holder.pid());
    daemon.restart();
    REQUIRE(netns.leave());
  }
  CHECK(eventually([&] { return !rig.link_exists(tap) && !rig.table_exists(table_of(tap)); }));
  CHECK(eventually([&] {
    const auto list = daemon.ok("list");
    return list.size() == 1 && list[0]["tap"] == kept && list[0]["state"] == "running";
  }));
  CHECK(rig.table_exists(table_of(kept)));
  CHECK(daemon.log().find("removed stale handed-off TAP " + tap) != std::string::npos);
}

TEST_CASE("handoff tap with queues: the TAP is multi-queue and a single-queue open is refused by the kernel",
          "[integration][handoff][root]") {
  require_runnable();
  Rig rig;
  const auto started = rig.daemon->ok("start", {{"name", "q1"}, {"mode", "host"}, {"handoff", "tap"}, {"queues", 4}});
  const std::string tap = started["tap"];
  const auto link = rig.in_netns("ip -d link show dev " + tap);
  INFO(link.output);
  CHECK(link.output.find("multi_queue") != std::string::npos);
  // A VMM must open it multi-queue too (tun.c: a flags mismatch is EINVAL); tap-peer does not.
  TapPeer single(nullptr, rig.daemon->pid(), {"--name", tap, "arp", started["mac"], "192.168.105.9", "192.168.105.1"});
  CHECK(single.wait() == 1);
  CHECK(single.output().find("TUNSETIFF " + tap + ": Invalid argument") != std::string::npos);
}
