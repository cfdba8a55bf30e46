#pragma once

// Host firewall rules: what the daemon reads from, and writes into, the base chains of other
// tables (Docker's iptables-nft `ip filter`, ufw, firewalld, an operator's own `nft -f`) so
// that a shared network keeps forwarding next to them. Pure functions over nft's JSON output
// (`nft -j list ruleset`, libnftables-json(5)) and script text; host_firewall.hpp runs them.
//
// Theory of operation:
// - Why at all: in nftables every base chain on a hook sees the packet, and a drop in any of
//   them is final (nft(8) "BASE CHAINS"; netfilter semantics). Docker sets `ip filter FORWARD`
//   to policy drop when it starts, ufw does the same by default, firewalld's forward chain
//   ends in a reject. The accept rules of our own table (nft.hpp) cannot win against them.
// - Blocking chain: a base chain of a table that is not ours (`inet squib_*`), family ip or
//   inet (our networks are IPv4; an ip6 chain never sees their packets), on the forward hook,
//   whose policy is drop, or whose last rule is an unconditional drop/reject (counter and log
//   statements aside). Chains reached only through jumps are not followed: a base chain's
//   accept ends the packet's walk through that base chain wherever the drop is.
// - Where our rules go: into `DOCKER-USER` when the blocking chain jumps to a chain of that
//   name (Docker's documented place for rules of others: docs.docker.com "Packet filtering
//   and firewalls"), else at the top of the blocking chain itself (`insert` = position 0).
// - The rules, per shared network N (bridge B, subnet S), in each such chain:
//     iifname "B" ip saddr S accept comment "squib-netd:<r>:N:out:S"
//     oifname "B" ip daddr S ct state established,related accept comment "squib-netd:<r>:N:in:S"
//   i.e. what our own table accepts (nft.hpp), nothing wider. <r> is run_dir_hash (network_names.hpp):
//   a daemon finds exactly the rules of its own run dir by the comment prefix
//   `squib-netd:<r>:`, and never touches a rule without it (another daemon's, anybody's).
// - Reconcile: given the ruleset and the wanted networks, one script deletes (by handle) our
//   rules that are no longer wanted or duplicated and inserts the missing ones. Empty script =
//   converged. Names from the ruleset are written into the script only when they are plain
//   nft identifiers (k_identifier below); a chain with any other name is reported, not touched.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/result.hpp>

namespace squib::platform {

// A shared network whose forwarded traffic must pass other tables' forward chains.
struct FirewallNetwork {
  std::string name;    // the network's name (in the rule comments)
  std::string bridge;  // sqbr-<h>
  core::Ipv4Subnet subnet;
};

struct ChainRef {
  std::string family;  // "ip" or "inet"
  std::string table;
  std::string chain;
  // "FAMILY TABLE CHAIN", how nft(8) names it on a command line.
  [[nodiscard]] std::string label() const { return family + " " + table + " " + chain; }
  bool operator==(const ChainRef&) const = default;
};

struct BlockingChain {
  ChainRef chain;
  std::string verdict;   // "policy drop" or "last rule drops"
  ChainRef rules_chain;  // where our accept rules go: DOCKER-USER or `chain` itself
  bool usable = true;    // false: a name we do not write into a script (see above)
};

// A rule carrying our comment prefix.
struct TaggedRule {
  ChainRef chain;
  std::uint64_t handle = 0;
  std::string comment;
};

struct HostRuleset {
  std::vector<BlockingChain> blocking;
  std::vector<TaggedRule> ours;  // rules whose comment starts with the prefix
};

// "squib-netd:<run_dir_hash>:" — the comment prefix of every rule of the run dir's daemon.
std::string host_firewall_tag_prefix(const std::string& run_dir);

// Reads `nft -j list ruleset` output. An Error when it is not nft's JSON.
core::Result<HostRuleset> parse_host_ruleset(std::string_view nft_json, std::string_view tag_prefix);

// The comments of the two rules of `network` (out, in).
std::vector<std::string> rule_comments(const FirewallNetwork& network, std::string_view tag_prefix);

// The `nft -f -` script that leaves exactly the wanted rules of ours in every usable blocking
// chain's rules_chain (and none of ours anywhere else). Empty when nothing is to change.
std::string reconcile_script(const HostRuleset& ruleset, const std::vector<FirewallNetwork>& wanted,
                             std::string_view tag_prefix);

// True when every usable blocking chain's rules_chain holds both rules of `network`.
bool rules_in_place(const HostRuleset& ruleset, const FirewallNetwork& network, std::string_view tag_prefix);

}  // namespace squib::platform
