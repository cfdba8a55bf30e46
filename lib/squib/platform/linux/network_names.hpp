#pragma once

// NetworkNames: what one host/shared network is called in the kernel and in the run dir.
// Every name carries h = 10 hex digits of FNV-1a-64 of the network name within the daemon's
// run dir, so several daemons with different run dirs share one network namespace without
// touching each other's objects, and a daemon restarted on the same run dir finds the
// objects its predecessor made (stale cleanup) under the same names:
//   bridge  sqbr-<h>          15 characters: fits IFNAMSIZ; never matches a TAP's `sq-` prefix
//   table   inet squib_<h>    (k_table_prefix, nft.hpp)
//   vxlan   sqvx-<h>          a network's VXLAN uplink device (vxlan_uplink.hpp)
//   table   bridge squib_up_<h>  the uplink's DHCP/RA containment (vxlan_uplink.hpp)
//   files   <run-dir>/net-<h>.hosts.d/  dnsmasq's --dhcp-hostsdir (one file per attachment)
//           <run-dir>/net-<h>.names.d/  dnsmasq's --hostsdir (DNS names, one file per attachment)
//           <run-dir>/net-<h>.leases    dnsmasq's lease file
//           <run-dir>/net-<h>.pid       dnsmasq's pid file (stale cleanup reads it)

#include <string>
#include <string_view>

namespace squib::platform {

inline constexpr std::string_view k_bridge_prefix = "sqbr-";
inline constexpr std::string_view k_vxlan_prefix = "sqvx-";
inline constexpr std::string_view k_uplink_table_prefix = "squib_up_";
// Every file of a network in the run dir starts with this (stale cleanup removes them all).
inline constexpr std::string_view k_network_file_prefix = "net-";

// The 10 hex digits h of FNV-1a of `network_name` within `scope` (the daemon's run dir).
std::string network_hash(std::string_view scope, std::string_view network_name);
// The 10 hex digits of FNV-1a of the run dir itself: the tag of the rules the daemon adds to
// other tables' chains (host_firewall_rules.hpp, comment "squib-netd:<this>:<network>:…").
std::string run_dir_hash(std::string_view run_dir);

struct NetworkNames {
  std::string bridge;
  std::string table;
  std::string vxlan;         // the uplink device, when the network has one
  std::string uplink_table;  // in family bridge
  std::string hosts_dir;
  std::string lease_path;
  std::string pid_path;
  std::string names_dir;
};

NetworkNames network_names(const std::string& run_dir, std::string_view network_name);

}  // namespace squib::platform
