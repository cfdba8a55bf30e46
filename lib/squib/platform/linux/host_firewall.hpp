#pragma once

// HostFirewall: keeps the daemon's shared networks forwarding next to other tables' forward
// chains (Docker, ufw, firewalld, an operator's nft) — the rules and their tags are in
// host_firewall_rules.hpp; this is the part that runs them on the loop.
//
// Theory of operation:
// - The wanted set is the shared networks (add/remove). Every change of it, and every
//   nftables event while it is not empty (NftMonitor: Docker restarting, `ufw reload`,
//   `nft -f` of a whole ruleset), asks for a pass.
// - A pass: `nft -j list ruleset` → reconcile_script → `nft -f -` of it when not empty, then
//   list again, until the script is empty (converged) or k_max_rounds are used (an error:
//   somebody keeps changing the ruleset against us). One pass at a time; requests during a
//   pass mark it dirty and one more pass follows (coalescing a burst of events into one or
//   two passes). All nft runs are children collected on the loop (run_nft_async): the loop
//   never waits.
// - Policy leave (--host-firewall=leave): passes only read the ruleset and remove rules of
//   ours left by an earlier coexisting run; nothing is inserted and the monitor is not opened.
// - sync(done): `done` runs at the end of the first pass that starts after the call, with
//   its outcome — what network creation waits for, so a new network forwards from the start
//   (coexist) or fails with the blocking chain named (leave).
// - Our own rule changes cause events too; the pass they cause finds nothing to do (one
//   extra `nft list`, no write), so there is no feedback loop.
// - remove_all(): synchronous removal of every rule of this run dir, for the places where no
//   loop serves anyone (stale cleanup at start-up, the last-resort destructor path).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/core/result.hpp>
#include <squib/platform/linux/host_firewall_rules.hpp>
#include <squib/platform/linux/nft_monitor.hpp>

namespace squib::platform {

enum class HostFirewallPolicy { coexist, leave };

// One blocking chain as it concerns one network (for `status`).
struct HostFirewallFinding {
  std::string chain;                       // "ip filter FORWARD"
  std::string verdict;                     // "policy drop" / "last rule drops"
  std::optional<std::string> rules_chain;  // where our rules are (coexist, in place)
  std::string action;                      // accepted / pending / left / failed: …
};

class HostFirewall {
 public:
  // Passes stop after this many list/apply rounds without converging (a competing writer).
  static constexpr int k_max_rounds = 4;

  // `idle` runs on the loop whenever the last pass ends and none follows (shutdown waits for it).
  HostFirewall(uv_loop_t* loop, std::string run_dir, HostFirewallPolicy policy, std::function<void()> idle);
  ~HostFirewall();
  HostFirewall(const HostFirewall&) = delete;
  HostFirewall& operator=(const HostFirewall&) = delete;

  void add(FirewallNetwork network);
  void remove(const std::string& network);
  // See above; `done` gets the pass's outcome (an Error names what nft said).
  void sync(std::function<void(core::Result<void>)> done);

  [[nodiscard]] bool idle() const { return !m_running && !m_dirty; }
  [[nodiscard]] HostFirewallPolicy policy() const { return m_policy; }
  // The blocking chains of the last pass as they concern `network` (empty for other names).
  [[nodiscard]] std::vector<HostFirewallFinding> findings(const std::string& network) const;
  // The blocking chains the last pass found (leave: what makes `start` fail).
  [[nodiscard]] const std::vector<BlockingChain>& blocking() const { return m_ruleset.blocking; }

  // Removes every rule tagged for `run_dir`, synchronously (see above). Logs what it did.
  static void remove_all(const std::string& run_dir);

 private:
  void request();
  void start_pass();
  void round(int number);
  void finish(core::Result<void> outcome);
  void update_monitor();
  [[nodiscard]] std::vector<FirewallNetwork> wanted() const;

  uv_loop_t* m_loop;
  std::string m_tag_prefix;
  HostFirewallPolicy m_policy;
  std::function<void()> m_idle;
  std::map<std::string, FirewallNetwork> m_networks;
  std::unique_ptr<NftMonitor> m_monitor;
  bool m_running = false;
  bool m_dirty = false;
  std::vector<std::function<void(core::Result<void>)>> m_next_waiters;  // for the next pass
  std::vector<std::function<void(core::Result<void>)>> m_waiters;       // of the pass running
  HostRuleset m_ruleset;                // as the last pass left it
  std::optional<std::string> m_error;   // of the last pass
  // Callbacks of nft children check this before touching the object.
  std::shared_ptr<HostFirewall*> m_alive = std::make_shared<HostFirewall*>(this);
};

}  // namespace squib::platform
