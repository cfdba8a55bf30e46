#include <squib/platform/linux/host_firewall_rules.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include <squib/platform/linux/network_names.hpp>
#include <squib/platform/linux/nft.hpp>

namespace squib::platform {

using core::Error;
using core::Result;
using json = nlohmann::json;

namespace {

// The comment prefix of every squib-netd's rules, whatever its run dir.
constexpr std::string_view k_any_tag = "squib-netd:";
// Docker's chain for rules of others (docs.docker.com, "Packet filtering and firewalls").
constexpr std::string_view k_docker_user = "DOCKER-USER";

// nft's unquoted identifier (scanner.l `string`: [a-zA-Z_.][a-zA-Z0-9/\-_.]*); nft 1.0.6
// takes no quoted table or chain names, so only these are ever written into a script.
bool plain_identifier(const std::string& name) {
  if (name.empty() || name.size() > 256) return false;
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.'; };
  if (!letter(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9') || c == '/' || c == '-'; });
}

std::string string_of(const json& object, const char* key) {
  const auto it = object.find(key);
  return (it != object.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// The statements of a rule that decide nothing (counting, logging) are skipped; a rule whose
// remaining statements are exactly one drop or reject drops every packet that reaches it.
bool unconditional_drop(const json& expr) {
  if (!expr.is_array()) return false;
  int verdicts = 0;
  for (const auto& statement : expr) {
    if (!statement.is_object() || statement.size() != 1) return false;
    const std::string& key = statement.begin().key();
    if (key == "counter" || key == "log") continue;
    if (key == "drop" || key == "reject") {
      ++verdicts;
      continue;
    }
    return false;  // a match, a jump, anything else: not unconditional
  }
  return verdicts == 1;
}

bool jumps_to(const json& expr, std::string_view target) {
  if (!expr.is_array()) return false;
  for (const auto& statement : expr) {
    for (const char* verb : {"jump", "goto"}) {
      const auto it = statement.find(verb);
      if (it != statement.end() && it->is_object() && string_of(*it, "target") == target) return true;
    }
  }
  return false;
}

struct ChainSeen {
  ChainRef ref;
  bool base_forward = false;
  bool policy_drop = false;
  bool last_rule_drops = false;
  bool jumps_to_docker_user = false;
};

std::string key_of(const ChainRef& chain) { return chain.label(); }

// A wanted rule: where, its comment and its text.
struct WantedRule {
  ChainRef chain;
  std::string comment;
  std::string text;
};

std::vector<WantedRule> wanted_rules(const HostRuleset& ruleset, const std::vector<FirewallNetwork>& wanted,
                                     std::string_view tag_prefix) {
  std::vector<WantedRule> out;
  std::set<std::string> seen;  // rules_chain label + comment: one DOCKER-USER serves several chains
  for (const auto& blocking : ruleset.blocking) {
    if (!blocking.usable) continue;
    for (const auto& network : wanted) {
      const auto comments = rule_comments(network, tag_prefix);
      const std::string bridge = "\"" + network.bridge + "\"";
      const std::string subnet = network.subnet.to_string();
      const std::string texts[2] = {
          "iifname " + bridge + " ip saddr " + subnet + " accept",
          "oifname " + bridge + " ip daddr " + subnet + " ct state established,related accept",
      };
      for (std::size_t i = 0; i < 2; ++i) {
        if (!seen.insert(key_of(blocking.rules_chain) + "\n" + comments[i]).second) continue;
        out.push_back({blocking.rules_chain, comments[i], texts[i]});
      }
    }
  }
  return out;
}

}  // namespace

std::string host_firewall_tag_prefix(const std::string& run_dir) { return "squib-netd:" + run_dir_hash(run_dir) + ":"; }

std::vector<std::string> rule_comments(const FirewallNetwork& network, std::string_view tag_prefix) {
  const std::string base = std::string(tag_prefix) + network.name;
  return {base + ":out:" + network.subnet.to_string(), base + ":in:" + network.subnet.to_string()};
}

Result<HostRuleset> parse_host_ruleset(std::string_view nft_json, std::string_view tag_prefix) {
  const json document = json::parse(nft_json, nullptr, false);
  if (document.is_discarded() || !document.is_object() || !document.contains("nftables") ||
      !document["nftables"].is_array()) {
    return Error{EPROTO, "nft -j list ruleset: not nft's JSON"};
  }
  // Chains in listing order; rules follow their chain in nft's output, but are matched by
  // name so the order does not matter.
  std::vector<ChainSeen> chains;
  std::map<std::string, std::size_t> index;  // label → chains[]
  std::set<std::string> tables_with_docker_user;  // "family table"
  HostRuleset out;
  for (const auto& item : document["nftables"]) {
    if (!item.is_object()) continue;
    if (const auto chain = item.find("chain"); chain != item.end() && chain->is_object()) {
      ChainSeen seen;
      seen.ref = {string_of(*chain, "family"), string_of(*chain, "table"), string_of(*chain, "name")};
      seen.base_forward = string_of(*chain, "hook") == "forward";
      seen.policy_drop = string_of(*chain, "policy") == "drop";
      if (seen.ref.chain == k_docker_user) tables_with_docker_user.insert(seen.ref.family + " " + seen.ref.table);
      index[key_of(seen.ref)] = chains.size();
      chains.push_back(std::move(seen));
      continue;
    }
    const auto rule = item.find("rule");
    if (rule == item.end() || !rule->is_object()) continue;
    const ChainRef ref{string_of(*rule, "family"), string_of(*rule, "table"), string_of(*rule, "chain")};
    const std::string comment = string_of(*rule, "comment");
    if (!tag_prefix.empty() && comment.starts_with(tag_prefix)) {
      const auto handle = rule->find("handle");
      if (handle != rule->end() && handle->is_number_unsigned()) {
        out.ours.push_back({ref, handle->get<std::uint64_t>(), comment});
      }
      continue;
    }
    // No daemon's rules (ours or another run dir's, always inserted at the top) block or
    // count as a chain's last rule.
    if (comment.starts_with(k_any_tag)) continue;
    const auto it = index.find(key_of(ref));
    if (it == index.end()) continue;
    ChainSeen& seen = chains[it->second];
    const json expr = rule->value("expr", json::array());
    seen.last_rule_drops = unconditional_drop(expr);  // the last one listed wins
    if (jumps_to(expr, k_docker_user)) seen.jumps_to_docker_user = true;
  }
  for (const auto& seen : chains) {
    if (!seen.base_forward || (seen.ref.family != "ip" && seen.ref.family != "inet")) continue;
    if (seen.ref.family == "inet" && seen.ref.table.starts_with(k_table_prefix)) continue;  // a daemon's own
    if (!seen.policy_drop && !seen.last_rule_drops) continue;
    BlockingChain blocking;
    blocking.chain = seen.ref;
    blocking.verdict = seen.policy_drop ? "policy drop" : "last rule drops";
    blocking.rules_chain = seen.ref;
    if (seen.jumps_to_docker_user && tables_with_docker_user.contains(seen.ref.family + " " + seen.ref.table)) {
      blocking.rules_chain.chain = std::string(k_docker_user);
    }
    blocking.usable = plain_identifier(seen.ref.table) && plain_identifier(blocking.rules_chain.chain) &&
                      plain_identifier(seen.ref.chain);
    out.blocking.push_back(std::move(blocking));
  }
  return out;
}

std::string reconcile_script(const HostRuleset& ruleset, const std::vector<FirewallNetwork>& wanted,
                             std::string_view tag_prefix) {
  const auto rules = wanted_rules(ruleset, wanted, tag_prefix);
  std::set<std::string> wanted_keys;
  for (const auto& rule : rules) wanted_keys.insert(key_of(rule.chain) + "\n" + rule.comment);
  std::ostringstream script;
  std::set<std::string> present;  // kept rules of ours
  for (const auto& rule : ruleset.ours) {
    const std::string key = key_of(rule.chain) + "\n" + rule.comment;
    if (wanted_keys.contains(key) && present.insert(key).second) continue;
    // Not wanted (network gone, chain no longer blocking) or a duplicate. The family, table
    // and chain come from the kernel: written only when plain (see the header).
    if (!plain_identifier(rule.chain.table) || !plain_identifier(rule.chain.chain)) continue;
    script << "delete rule " << rule.chain.family << " " << rule.chain.table << " " << rule.chain.chain << " handle "
           << rule.handle << "\n";
  }
  for (const auto& rule : rules) {
    if (present.contains(key_of(rule.chain) + "\n" + rule.comment)) continue;
    script << "insert rule " << rule.chain.label() << " " << rule.text << " comment \"" << rule.comment << "\"\n";
  }
  return script.str();
}

bool rules_in_place(const HostRuleset& ruleset, const FirewallNetwork& network, std::string_view tag_prefix) {
  const auto comments = rule_comments(network, tag_prefix);
  for (const auto& blocking : ruleset.blocking) {
    if (!blocking.usable) continue;
    for (const auto& comment : comments) {
      const bool found = std::any_of(ruleset.ours.begin(), ruleset.ours.end(), [&](const TaggedRule& rule) {
        return rule.chain == blocking.rules_chain && rule.comment == comment;
      });
      if (!found) return false;
    }
  }
  return true;
}

}  // namespace squib::platform
