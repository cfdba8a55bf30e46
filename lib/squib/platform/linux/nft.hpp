#pragma once

// nftables for host/shared networks: one table of ours per network, `inet squib_<hash>`,
// created and replaced in one transaction and deleted in one, so a rule set is never half
// there and rules that are not ours are never touched.
//
// Why the `nft` program (`nft -f -`) and not libnftables: Debian 12 ships libnftables1 but
// the -dev package is not installed on our builders, and the library's API is exactly "run
// this text" (nft_run_cmd_from_buffer) — the same parser and the same atomic transaction as
// `nft -f -`. A short child on the control path (create/delete a network, never per frame)
// costs a fork/exec; in exchange the daemon links no netfilter code and the rule text in
// logs is what an operator would type.
//
// Rule set (see network_ruleset): forward chain — traffic inside the bridge is accepted; in
// shared mode, the subnet may go out and replies come back (ct established,related) with
// masquerade in a srcnat postrouting chain; everything else to or from the bridge is
// dropped, so a host network forwards nothing even when ip_forward is on for other reasons.
// A drop in another table still wins (netfilter semantics): an operator's firewall remains
// in charge.

#include <chrono>
#include <string>
#include <vector>

#include <squib/core/result.hpp>
#include <squib/platform/linux/ipv4_subnet.hpp>

namespace squib::platform {

inline constexpr std::string_view k_table_prefix = "squib_";
// nft is given this long before it is killed (it normally takes a few milliseconds).
inline constexpr std::chrono::milliseconds k_nft_timeout{5'000};

struct NetworkRules {
  std::string table;   // squib_<hash>
  std::string bridge;  // sqbr-<hash>
  Ipv4Subnet subnet;
  bool masquerade = false;  // shared mode
};

// The script that creates (or atomically replaces) the table.
std::string network_ruleset(const NetworkRules& rules);
// The script that deletes the table if it exists (declare-then-delete: nft 1.0.6 has no
// `destroy`), atomically.
std::string delete_table_script(const std::string& table);
// Table names `squib_*` in `nft list tables` output ("table inet squib_…" lines).
std::vector<std::string> our_tables(const std::string& list_output);

// Runs `nft ARGS…` with `input` on stdin; returns its stdout, or an Error with its stderr.
// Bounded by k_nft_timeout (then SIGKILL). Synchronous: control path only.
core::Result<std::string> run_nft(const std::vector<std::string>& args, const std::string& input = {});

}  // namespace squib::platform
