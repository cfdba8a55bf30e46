// Tests of squib/platform/linux/host_firewall_rules.hpp: which chains block a shared network,
// where our rules go, and the reconcile script. The inputs are `nft -j list ruleset` output
// of nft 1.0.6 (Debian 12) for the layouts the system test builds (tests/system/host_firewall).
// What the kernel does with the rules is proven there.

#include <squib/platform/linux/host_firewall_rules.hpp>

#include <string>

#include "support/catch.hpp"

using squib::core::Ipv4Subnet;
using squib::platform::FirewallNetwork;
using squib::platform::parse_host_ruleset;
using squib::platform::reconcile_script;
using squib::platform::rules_in_place;

namespace {

constexpr const char* k_prefix = "squib-netd:0123456789:";

FirewallNetwork default_network() {
  return {"default", "sqbr-aaaaaaaaaa", Ipv4Subnet::parse("192.168.105.0/24").value()};
}

// iptables-nft after Docker started: FORWARD policy drop, jump DOCKER-USER first.
const std::string k_docker = R"({"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
  {"table": {"family": "ip", "name": "filter", "handle": 1}},
  {"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER", "handle": 1}},
  {"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "handle": 2, "type": "filter", "hook": "forward",
             "prio": 0, "policy": "drop"}},
  {"rule": {"family": "ip", "table": "filter", "chain": "DOCKER-USER", "handle": 3,
            "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"return": null}]}},
  {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 4,
            "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"jump": {"target": "DOCKER-USER"}}]}},
  {"table": {"family": "inet", "name": "squib_0011223344", "handle": 2}},
  {"chain": {"family": "inet", "table": "squib_0011223344", "name": "forward", "handle": 1, "type": "filter",
             "hook": "forward", "prio": 0, "policy": "drop"}}]})";

// ufw-like: inet, policy accept, the last rule an unconditional drop; a conditional drop
// before it; and an ip6 chain with policy drop (never sees IPv4).
const std::string k_ufw = R"({"nftables": [
  {"table": {"family": "inet", "name": "ufw", "handle": 3}},
  {"chain": {"family": "inet", "table": "ufw", "name": "forward", "handle": 1, "type": "filter", "hook": "forward",
             "prio": 0, "policy": "accept"}},
  {"rule": {"family": "inet", "table": "ufw", "chain": "forward", "handle": 2,
            "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth9"}}, {"drop": null}]}},
  {"rule": {"family": "inet", "table": "ufw", "chain": "forward", "handle": 3,
            "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}},
  {"rule": {"family": "inet", "table": "ufw", "chain": "forward", "handle": 9, "comment": "squib-netd:0123456789:gone:out:10.0.0.0/24",
            "expr": [{"accept": null}]}},
  {"rule": {"family": "inet", "table": "ufw", "chain": "forward", "handle": 10, "comment": "squib-netd:9999999999:other:out:10.0.0.0/24",
            "expr": [{"accept": null}]}},
  {"table": {"family": "ip6", "name": "filter", "handle": 4}},
  {"chain": {"family": "ip6", "table": "filter", "name": "FORWARD", "handle": 1, "type": "filter", "hook": "forward",
             "prio": 0, "policy": "drop"}}]})";

}  // namespace

TEST_CASE("host firewall: Docker's FORWARD policy drop is found, our rules go into DOCKER-USER",
          "[platform][host_firewall]") {
  auto ruleset = parse_host_ruleset(k_docker, k_prefix);
  REQUIRE(ruleset);
  REQUIRE(ruleset->blocking.size() == 1);  // our own squib_ table is never a blocker
  CHECK(ruleset->blocking[0].chain.label() == "ip filter FORWARD");
  CHECK(ruleset->blocking[0].verdict == "policy drop");
  CHECK(ruleset->blocking[0].rules_chain.label() == "ip filter DOCKER-USER");
  const std::string script = reconcile_script(ruleset.value(), {default_network()}, k_prefix);
  CHECK(script ==
        "insert rule ip filter DOCKER-USER iifname \"sqbr-aaaaaaaaaa\" ip saddr 192.168.105.0/24 accept comment "
        "\"squib-netd:0123456789:default:out:192.168.105.0/24\"\n"
        "insert rule ip filter DOCKER-USER oifname \"sqbr-aaaaaaaaaa\" ip daddr 192.168.105.0/24 ct state "
        "established,related accept comment \"squib-netd:0123456789:default:in:192.168.105.0/24\"\n");
  CHECK_FALSE(rules_in_place(ruleset.value(), default_network(), k_prefix));
}

TEST_CASE("host firewall: without DOCKER-USER the rules go to the top of the blocking chain itself",
          "[platform][host_firewall]") {
  auto ruleset = parse_host_ruleset(k_ufw, k_prefix);
  REQUIRE(ruleset);
  REQUIRE(ruleset->blocking.size() == 1);  // inet ufw forward; the ip6 chain does not count
  CHECK(ruleset->blocking[0].chain.label() == "inet ufw forward");
  CHECK(ruleset->blocking[0].verdict == "last rule drops");
  CHECK(ruleset->blocking[0].rules_chain.label() == "inet ufw forward");
  // Ours: only this run dir's tag (handle 9, a network that is gone); handle 10 is another daemon's.
  REQUIRE(ruleset->ours.size() == 1);
  CHECK(ruleset->ours[0].handle == 9);
  const std::string script = reconcile_script(ruleset.value(), {default_network()}, k_prefix);
  CHECK(script.starts_with("delete rule inet ufw forward handle 9\n"));
  CHECK(script.find("handle 10") == std::string::npos);
  CHECK(script.find("insert rule inet ufw forward iifname \"sqbr-aaaaaaaaaa\"") != std::string::npos);
  SECTION("no networks wanted: only our stale rule goes") {
    CHECK(reconcile_script(ruleset.value(), {}, k_prefix) == "delete rule inet ufw forward handle 9\n");
  }
}

TEST_CASE("host firewall: converged when both rules are there once, duplicates are removed",
          "[platform][host_firewall]") {
  const std::string listed = R"({"nftables": [
    {"chain": {"family": "inet", "table": "fw", "name": "fwd", "handle": 1, "type": "filter", "hook": "forward",
               "prio": 0, "policy": "drop"}},
    {"rule": {"family": "inet", "table": "fw", "chain": "fwd", "handle": 5, "comment": "squib-netd:0123456789:default:in:192.168.105.0/24", "expr": []}},
    {"rule": {"family": "inet", "table": "fw", "chain": "fwd", "handle": 6, "comment": "squib-netd:0123456789:default:out:192.168.105.0/24", "expr": []}},
    {"rule": {"family": "inet", "table": "fw", "chain": "fwd", "handle": 7, "comment": "squib-netd:0123456789:default:out:192.168.105.0/24", "expr": []}}]})";
  auto ruleset = parse_host_ruleset(listed, k_prefix);
  REQUIRE(ruleset);
  CHECK(rules_in_place(ruleset.value(), default_network(), k_prefix));
  CHECK(reconcile_script(ruleset.value(), {default_network()}, k_prefix) == "delete rule inet fw fwd handle 7\n");
}

TEST_CASE("host firewall: names that are not plain nft identifiers are reported, never written",
          "[platform][host_firewall]") {
  const std::string listed = R"({"nftables": [
    {"chain": {"family": "inet", "table": "x\"; flush ruleset; \"", "name": "f", "handle": 1, "type": "filter",
               "hook": "forward", "prio": 0, "policy": "drop"}}]})";
  auto ruleset = parse_host_ruleset(listed, k_prefix);
  REQUIRE(ruleset);
  REQUIRE(ruleset->blocking.size() == 1);
  CHECK_FALSE(ruleset->blocking[0].usable);
  CHECK(reconcile_script(ruleset.value(), {default_network()}, k_prefix).empty());
}

TEST_CASE("host firewall: input that is not nft's JSON is an error", "[platform][host_firewall]") {
  CHECK_FALSE(parse_host_ruleset("table ip filter {", k_prefix));
  CHECK_FALSE(parse_host_ruleset(R"({"nft": []})", k_prefix));
  CHECK(parse_host_ruleset(R"({"nftables": []})", k_prefix));
}

TEST_CASE("host firewall: firewalld's forward chain (policy accept, last rule reject) blocks, our rules go on top",
          "[platform][host_firewall]") {
  // `nft -j list ruleset` of firewalld 1.x's layout, as nft 1.0.6 prints it.
  const std::string listed = R"({"nftables": [
    {"table": {"family": "inet", "name": "firewalld", "handle": 1}},
    {"chain": {"family": "inet", "table": "firewalld", "name": "filter_FORWARD", "handle": 1, "type": "filter",
               "hook": "forward", "prio": 10, "policy": "accept"}},
    {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_FORWARD", "handle": 3,
              "expr": [{"match": {"op": "==", "left": {"ct": {"key": "state"}}, "right": {"set": ["established", "related"]}}},
                       {"accept": null}]}},
    {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_FORWARD", "handle": 4,
              "expr": [{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]}}]})";
  auto ruleset = parse_host_ruleset(listed, k_prefix);
  REQUIRE(ruleset);
  REQUIRE(ruleset->blocking.size() == 1);
  CHECK(ruleset->blocking[0].chain.label() == "inet firewalld filter_FORWARD");
  CHECK(ruleset->blocking[0].verdict == "last rule drops");
  CHECK(reconcile_script(ruleset.value(), {default_network()}, k_prefix)
            .starts_with("insert rule inet firewalld filter_FORWARD iifname \"sqbr-aaaaaaaaaa\""));
  SECTION("a chain whose last rule is conditional does not block") {
    const std::string conditional = R"({"nftables": [
      {"chain": {"family": "inet", "table": "t", "name": "f", "handle": 1, "type": "filter", "hook": "forward",
                 "prio": 0, "policy": "accept"}},
      {"rule": {"family": "inet", "table": "t", "chain": "f", "handle": 2,
                "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth9"}}, {"drop": null}]}}]})";
    auto other = parse_host_ruleset(conditional, k_prefix);
    REQUIRE(other);
    CHECK(other->blocking.empty());
  }
}
