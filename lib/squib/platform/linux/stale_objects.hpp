#pragma once

// Stale cleanup: what a dead daemon of the same run dir left behind, removed before the new
// one restores its state. The caller names the objects from the attachments its state.json
// records (TAPs of attachments, bridges and nft tables of their networks; names are scoped
// by the run dir), so another daemon's objects in the same network namespace are never
// touched. In order:
//   1. dnsmasq children whose pid files (net-*.pid) are in the run dir (Dnsmasq::stop_stale:
//      dnsmasq can outlive a kill -9, see dnsmasq.hpp), then every net-* file of the run dir;
//   2. the named links (TAPs, bridges) that exist, by rtnetlink;
//   3. the rules tagged "squib-netd:<run-dir hash>:" in other tables' chains (Docker, ufw,
//      firewalld; platform/linux/host_firewall.hpp) — all of this run dir's, no others;
//   4. the named `inet squib_*` tables that exist, with `nft`.
// Failures are logged and the rest goes on. Synchronous: it runs before the loop serves
// anyone.

#include <set>
#include <string>

namespace squib::platform {

struct StaleObjects {
  std::set<std::string> links;   // interface names: TAPs and bridges
  std::set<std::string> tables;  // nft table names in family inet
  // nft table names in family bridge (networks' uplink tables, squib_up_<h>): declared, then
  // deleted, so an absent one is no error.
  std::set<std::string> bridge_tables;
};

void remove_stale(const std::string& run_dir, const StaleObjects& objects);

}  // namespace squib::platform
