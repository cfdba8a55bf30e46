#pragma once

// Dnsmasq: the one dnsmasq child of a host/shared network, serving DHCP and DNS on the
// network's bridge only (--bind-interfaces: DHCP with SO_BINDTODEVICE, DNS on the bridge's
// addresses, so several instances coexist, as libvirt runs them).
//
// - DNS names: <attachment>.<domain> (A, and AAAA when the network has IPv6) for every
//   attachment whose name is a DNS label, one hosts-format file per attachment in a names
//   directory (--hostsdir), written atomically like the static leases. dnsmasq(8) --hostsdir:
//   new or changed files are read by inotify and a deleted file's records are removed, no
//   signal needed. --local=/<domain>/ makes the domain ours alone: a name in it that we do not
//   list is NXDOMAIN, never forwarded. DHCP hands out the gateway as DNS server and the domain
//   (--domain: option 15).
// - Upstream: a shared network forwards every other name to the host's resolvers, the
//   nameserver lines of /etc/resolv.conf, which dnsmasq re-reads when it changes (inotify on
//   its directory, dnsmasq(8) --resolv-file and "NOTES"; dnsmasq's own polling without
//   inotify). A host network has no upstream (--no-resolv, no --server): other names are
//   REFUSED, nothing leaves the host.
//
// - Static leases: one file per attachment in a hosts directory (--dhcp-hostsdir), written
//   through a temp file and rename(2) so dnsmasq's inotify never sees a partial one. A new
//   file is picked up without a signal; a removed one is forgotten only on SIGHUP
//   (dnsmasq(8) --dhcp-hostsdir), hence reload().
// - The child is a uv::ChildSupervisor: reaped, restarted with backoff, stopped (SIGTERM,
//   then SIGKILL) with the network. Its files are the caller's to remove once it has stopped
//   (files()): a stopped dnsmasq may still be writing its lease file until it is reaped.
// - dnsmasq drops privileges, which clears the PR_SET_PDEATHSIG set by squib-child-exec, so
//   it can outlive a kill -9 of the daemon: stop_stale() stops such a one by its pid file.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/result.hpp>
#include <squib/uv/child_supervisor.hpp>

namespace squib::platform {

struct DnsmasqPlan {
  std::string bridge;
  core::Ipv4Subnet subnet;
  bool upstream_dns = false;  // shared mode forwards other names to the host's resolvers
  std::string hosts_path;     // the --dhcp-hostsdir directory
  std::string lease_path;
  std::string pid_path;
  // IPv6: router advertisements for this /64 (SLAAC, EUI-64 addresses) and stateless DHCPv6
  // (options only) on the bridge; nullopt: IPv4 only. `default_router6`: whether the RAs
  // make the gateway the guests' IPv6 default router (shared mode with NAT66); otherwise
  // their router lifetime is 0, so guests get addresses and the on-link prefix but no
  // default route into a network that forwards nothing out.
  std::optional<core::Ipv6Prefix> subnet6;
  bool default_router6 = false;
  std::string domain = "squib.internal";  // the names' domain (proto::k_default_domain)
  std::string names_path{};               // the --hostsdir directory (DNS names)
  // DHCPv4 (issue 15): `dhcp` false serves none (no --dhcp-range: DNS only); `dhcp_first`..
  // `dhcp_last` (host order; 0: the subnet's whole range) is this host's slice of it.
  bool dhcp = true;
  std::uint32_t dhcp_first = 0;
  std::uint32_t dhcp_last = 0;
  // The network's MTU, to DHCP clients as option 26 when it is not Ethernet's 1500.
  std::uint32_t mtu = 1500;
};
std::vector<std::string> dnsmasq_arguments(const DnsmasqPlan& plan);

class Dnsmasq {
 public:
  // Spawns nothing yet. `network_name` names it in logs; `exec_shim` as for ChildSupervisor.
  Dnsmasq(uv_loop_t* loop, const std::string& network_name, const std::string& exec_shim, DnsmasqPlan plan);
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  // Makes the hosts directory afresh (0755: dnsmasq reads it after dropping root) and spawns
  // dnsmasq. On failure the caller still stop()s it and removes files() as usual.
  core::Result<void> start();
  // SIGTERM, then SIGKILL; `stopped` runs once it is reaped.
  void stop(std::function<void()> stopped) { m_child.stop(std::move(stopped)); }

  // The static lease of attachment `name`; a failure to write it is logged (the guest then
  // gets a dynamic address from the range).
  void add_host(const std::string& name, const std::string& mac, std::uint32_t address);
  // Removes the static lease file of `name`; dnsmasq forgets it on the next reload().
  void remove_host(const std::string& name);
  // SIGHUP: dnsmasq re-reads its hosts directory.
  void reload();
  // The DNS name <name>.<domain> of an attachment: A `address`, and AAAA `address6` when
  // given. Callers pass only DNS labels (core::is_valid_dns_label). A failure to write it is
  // logged (the name then does not resolve). dnsmasq reads it by inotify.
  void add_name(const std::string& name, std::uint32_t address, const std::string& address6);
  // Removes that name; dnsmasq drops its records by inotify (--hostsdir), no reload needed.
  void remove_name(const std::string& name);

  [[nodiscard]] int pid() const { return m_child.pid(); }
  // Everything of this dnsmasq in the run dir, to remove once it is stopped.
  [[nodiscard]] std::vector<std::string> files() const;

  // Before the loop serves anyone: stops a dnsmasq left by a dead daemon whose pid file is
  // `pid_path` (only if /proc shows a dnsmasq started with that pid file): SIGTERM, then
  // SIGKILL if it still runs after 1 s. Synchronous: it sleeps while it waits.
  static void stop_stale(const std::string& pid_path);

 private:
  std::string m_network;
  DnsmasqPlan m_plan;
  uv::ChildSupervisor m_child;
};

}  // namespace squib::platform
