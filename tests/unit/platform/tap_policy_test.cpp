// Tests of squib/platform/linux/tap_policy.hpp: the nft script of a handed-off TAP (checked
// by nft itself in tests/integration/handoff_test.cpp) and the names of its counters, which
// TapStatsPoller reads back by netlink (exercised by the handoff integration tests).

#include <squib/platform/linux/tap_policy.hpp>

#include <string>

#include <squib/core/stats.hpp>

#include "support/catch.hpp"

using squib::platform::TapPolicy;

namespace {

TapPolicy policy() {
  TapPolicy out;
  out.ifname = "sq-0123456789ab";
  out.table = squib::platform::tap_policy_table(out.ifname);
  out.mac = squib::core::MacAddress::parse("02:00:00:00:00:01").value();
  return out;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("tap_policy_script: MAC checks always, IPv4 checks with an address, isolation when asked",
          "[platform][tap_policy]") {
  TapPolicy mac_only = policy();
  CHECK(mac_only.table == "squib_tap_0123456789ab");
  const std::string script = squib::platform::tap_policy_script(mac_only);
  // Re-applied in one transaction that keeps the named counters.
  CHECK(script.starts_with("add table bridge squib_tap_0123456789ab\nflush table bridge squib_tap_0123456789ab\n"));
  CHECK(has(script, "iifname != \"sq-0123456789ab\" accept"));
  CHECK(has(script, "ether saddr != 02:00:00:00:00:01 counter name \"spoofed_mac\" drop"));
  CHECK(has(script, "arp saddr ether != 02:00:00:00:00:01 counter name \"spoofed_mac\" drop"));
  CHECK(has(script, "udp sport 67 counter name \"dhcp_server\" drop"));
  CHECK(has(script, "icmpv6 type nd-router-advert counter name \"router_advertisement\" drop"));
  CHECK_FALSE(has(script, "spoofed_ip\" drop"));
  CHECK_FALSE(has(script, "hook forward"));

  TapPolicy full = policy();
  full.ipv4 = 0xc0a86905;  // 192.168.105.5
  full.isolated = true;
  const std::string guarded = squib::platform::tap_policy_script(full);
  CHECK(has(guarded, "arp saddr ip != { 0.0.0.0, 192.168.105.5 } counter name \"spoofed_ip\" drop"));
  CHECK(has(guarded, "ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept"));
  CHECK(has(guarded, "ip saddr != 192.168.105.5 counter name \"spoofed_ip\" drop"));
  // The DHCP client exception comes before the address check.
  CHECK(guarded.find("udp dport 67 accept") < guarded.find("ip saddr != 192.168.105.5"));
  CHECK(has(guarded, "hook forward"));
  CHECK(has(guarded, "oifname \"sq-0123456789ab\" counter name \"isolated\" drop"));

  CHECK(squib::platform::tap_policy_delete_script("squib_tap_x") ==
        "add table bridge squib_tap_x\ndelete table bridge squib_tap_x\n");
}

TEST_CASE("tap_isolation_script: a relayed isolated TAP's table holds only chain isolation and its counter",
          "[platform][tap_policy]") {
  TapPolicy isolated = policy();
  isolated.owner = "squib-netd 0123456789abcdef";
  const std::string script = squib::platform::tap_isolation_script(isolated);
  CHECK(script ==
        "add table bridge squib_tap_0123456789ab { comment \"squib-netd 0123456789abcdef\"; }\n"
        "flush table bridge squib_tap_0123456789ab\n"
        "table bridge squib_tap_0123456789ab {\n"
        "  counter isolated { }\n"
        "  chain isolation {\n"
        "    type filter hook forward priority -200; policy accept;\n"
        "    iifname \"sq-0123456789ab\" counter name \"isolated\" drop\n"
        "    oifname \"sq-0123456789ab\" counter name \"isolated\" drop\n"
        "  }\n"
        "}\n");
  // The same chain as a handed-off isolated TAP's.
  isolated.isolated = true;
  const std::string handoff = squib::platform::tap_policy_script(isolated);
  const auto chain = script.substr(script.find("  chain isolation"));
  CHECK(handoff.ends_with(chain));
}

TEST_CASE("tap_policy_script: IPv6 sources and NA targets at guard full, rogue servers at every level",
          "[platform][tap_policy]") {
  TapPolicy full = policy();
  full.ipv4 = 0xc0a86905;
  // The guest's link-local address is fe80::ff:fe00:1 (EUI-64 of 02:00:00:00:00:01).
  const std::string link_local_only = squib::platform::tap_policy_script(full);
  CHECK(has(link_local_only, "ip6 saddr != { fe80::ff:fe00:1 } counter name \"spoofed_ip\" drop"));
  full.ipv6 = squib::core::parse_ipv6("fd12:3456:789a::ff:fe00:1");
  const std::string script = squib::platform::tap_policy_script(full);
  CHECK(has(script,
            "ether type ip6 ip6 saddr :: icmpv6 type { nd-router-solicit, mld-listener-report, "
            "mld2-listener-report } accept"));
  CHECK(has(script,
            "ether type ip6 ip6 saddr :: icmpv6 type nd-neighbor-solicit @th,64,128 { "
            "0xfe80000000000000000000fffe000001, 0xfd123456789a0000000000fffe000001 } accept"));
  CHECK(has(script,
            "ether type ip6 ip6 saddr != { fe80::ff:fe00:1, fd12:3456:789a::ff:fe00:1 } counter name "
            "\"spoofed_ip\" drop"));
  CHECK(has(script,
            "ether type ip6 icmpv6 type nd-neighbor-advert @th,64,128 != { "
            "0xfe80000000000000000000fffe000001, 0xfd123456789a0000000000fffe000001 } counter name "
            "\"spoofed_ip\" drop"));
  // The :: exceptions come before the source check, the rogue-server rules after it.
  CHECK(script.find("saddr :: icmpv6 type nd-neighbor-solicit") < script.find("ip6 saddr != {"));
  CHECK(script.find("ip6 saddr != {") < script.find("nd-router-advert"));

  TapPolicy relaxed = full;
  relaxed.check_ip = false;  // guard mac
  const std::string mac_level = squib::platform::tap_policy_script(relaxed);
  // No IPv4/IPv6/ARP address rule at all...
  CHECK_FALSE(has(mac_level, "ip saddr"));
  CHECK_FALSE(has(mac_level, "ip6 saddr"));
  CHECK_FALSE(has(mac_level, "arp saddr ip"));
  CHECK_FALSE(has(mac_level, "nd-neighbor-advert"));
  CHECK(has(mac_level, "ether saddr != 02:00:00:00:00:01 counter name \"spoofed_mac\" drop"));  // ...but MACs
  CHECK(has(mac_level, "arp saddr ether != 02:00:00:00:00:01 counter name \"spoofed_mac\" drop"));
  CHECK(has(mac_level, "ether type { 8021q, 8021ad, 0x9100 } counter name \"spoofed_ip\" drop"));
  CHECK(has(mac_level, "ether type ip udp sport 67 counter name \"dhcp_server\" drop"));
  CHECK(has(mac_level, "ether type ip6 udp sport 547 counter name \"dhcp_server\" drop"));
  CHECK(has(mac_level, "icmpv6 type nd-router-advert counter name \"router_advertisement\" drop"));
}

TEST_CASE("drop_reason_named: the nft counters' names map back to their drop reasons", "[platform][tap_policy]") {
  for (std::size_t i = 0; i < squib::core::k_drop_reason_count; ++i) {
    const auto reason = static_cast<squib::core::DropReason>(i);
    CHECK(squib::core::drop_reason_named(squib::core::to_string(reason)) == reason);
  }
  CHECK_FALSE(squib::core::drop_reason_named("unknown").has_value());
  CHECK_FALSE(squib::core::drop_reason_named("").has_value());
  CHECK_FALSE(squib::core::drop_reason_named("spoofed_mac ").has_value());
}

TEST_CASE("tap_policy_owner and the stale-cleanup helpers", "[platform][tap_policy]") {
  const std::string owner = squib::platform::tap_policy_owner("/run/squib-net");
  CHECK(owner.starts_with("squib-netd "));
  CHECK(owner.size() == 11 + 16);
  CHECK(owner != squib::platform::tap_policy_owner("/run/other"));
  TapPolicy owned = policy();
  owned.owner = owner;
  const std::string script = squib::platform::tap_policy_script(owned);
  CHECK(script.starts_with("add table bridge squib_tap_0123456789ab { comment \"" + owner + "\"; }\n"));
  CHECK(squib::platform::tap_policy_owned_by("table bridge squib_tap_x {\n\tcomment \"" + owner + "\"\n}\n", owner));
  CHECK_FALSE(squib::platform::tap_policy_owned_by("table bridge squib_tap_x {\n}\n", owner));
  CHECK(squib::platform::tap_policy_tables("table bridge squib_tap_0123456789ab\ntable bridge other\n"
                                           "table inet squib_tap_x\n") ==
        std::vector<std::string>{"squib_tap_0123456789ab"});
  CHECK(squib::platform::tap_policy_ifname("squib_tap_0123456789ab") == "sq-0123456789ab");
}
