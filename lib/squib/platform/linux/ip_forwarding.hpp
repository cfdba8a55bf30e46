#pragma once

// IpForwarding: net.ipv4.ip_forward (and, a second instance, net.ipv6.conf.all.forwarding)
// for shared networks. Shared mode needs the kernel to
// forward between the bridge and the uplink, so the first shared network turns it on (as
// libvirt does, in the daemon's network namespace) and the last one to go puts back the
// value found before. A value that was already 1 is not ours: it is never turned off.
// Host-mode networks need no forwarding and stay closed by their own nft table.
//
// Failures are logged, not returned: a shared network without forwarding still serves its
// guests DHCP and the host, it just does not reach the uplink (the log says so).

#include <optional>
#include <string>

namespace squib::platform {

class IpForwarding {
 public:
  // proc(5): /proc/sys/net/ipv4/ip_forward. Tests pass a file of their own. `sysctl` names it
  // in logs.
  explicit IpForwarding(std::string path = "/proc/sys/net/ipv4/ip_forward", std::string sysctl = "net.ipv4.ip_forward")
      : m_path(std::move(path)), m_sysctl(std::move(sysctl)) {}

  // Is it on now (whoever turned it on)?
  [[nodiscard]] bool on() const;

  // A shared network was made: the first turns forwarding on, remembering the old value.
  void network_added();
  // A shared network went: the last one restores the remembered value, if any.
  void network_removed();

 private:
  std::string m_path;
  std::string m_sysctl;
  int m_networks = 0;
  std::optional<std::string> m_before;  // what we found before turning it on
};

}  // namespace squib::platform
