#pragma once

// nftables for host/shared networks: one table of ours per network, `inet squib_<hash>`,
// created and replaced in one transaction and deleted in one, so a rule set is never half
// there and rules that are not ours are never touched.
//
// Why the `nft` program (`nft -f -`) and not libnftables: the library's API is exactly "run
// this text" (nft_run_cmd_from_buffer) — the same parser and the same atomic transaction as
// `nft -f -` — but it runs synchronously in the caller's thread, so on the loop a slow commit
// (another process's big ruleset holding the nfnetlink mutex) would stall every VM. A child
// started with uv_spawn and collected on the loop never blocks it, can be killed after a
// timeout, keeps the nft parser out of the root daemon's address space, and the rule text
// in logs is what an operator would type. The cost, a fork/exec per network change (a few
// ms, never per frame), is on the control path only.
//
// Rule set (see network_ruleset): forward chain — traffic inside the bridge is accepted; in
// shared mode, the subnet may go out and replies come back (ct established,related) with
// masquerade in a srcnat postrouting chain; everything else to or from the bridge is
// dropped, so a host network forwards nothing even when ip_forward is on for other reasons.
// IPv6 (issue 13): the same rules for the network's /64 when `subnet6` is set and
// `masquerade6` (NAT66, shared mode unless the RA hazard of ra_default_routes.hpp stops it):
// the guests' ULA sources are masqueraded to the uplink's address, as libvirt's NAT66 does,
// since a ULA is not routed on the Internet and the host has no prefix to delegate to them.
// A drop in another table still wins (netfilter semantics): an operator's firewall remains
// in charge.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/result.hpp>

namespace squib::platform {

inline constexpr std::string_view k_table_prefix = "squib_";
// nft is given this long before it is killed (it normally takes a few milliseconds).
inline constexpr std::chrono::milliseconds k_nft_timeout{5'000};

struct NetworkRules {
  std::string table;   // squib_<hash>
  std::string bridge;  // sqbr-<hash>
  core::Ipv4Subnet subnet;
  bool masquerade = false;                  // shared mode
  std::optional<core::Ipv6Prefix> subnet6;  // nullopt: no IPv6 on this host
  bool masquerade6 = false;                 // NAT66 of subnet6 (shared mode, see above)
};

// The script that creates (or atomically replaces) the table.
std::string network_ruleset(const NetworkRules& rules);
// The script that deletes the table if it exists (declare-then-delete: nft 1.0.6 has no
// `destroy`), atomically.
std::string delete_table_script(const std::string& table);
// Table names `squib_*` in `nft list tables` output ("table inet squib_…" lines).
std::vector<std::string> our_tables(const std::string& list_output);

// Runs `nft ARGS…` with `input` on stdin; returns its stdout, or an Error with its stderr.
// Bounded by k_nft_timeout (then SIGKILL). Synchronous: only where no loop serves anyone yet
// (start-up cleanup) or any more (the last-resort teardown in a destructor).
core::Result<std::string> run_nft(const std::vector<std::string>& args, const std::string& input = {});

// The same, asynchronously on `loop` (uv::run_program): `done` runs on the loop with nft's
// stdout or the error. What the daemon uses while it serves.
void run_nft_async(uv_loop_t* loop, std::vector<std::string> args, std::string input,
                   std::function<void(core::Result<std::string>)> done);

}  // namespace squib::platform
