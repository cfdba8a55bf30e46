// Tests of squib/platform/linux/vxlan_uplink.hpp's pure parts: the anycast gateway MAC and
// the containment table's nft script (applied to a real kernel by the platform test
// tests/platform/vxlan_uplink_test.cpp).

#include <squib/platform/linux/vxlan_uplink.hpp>

#include <string>

#include "support/catch.hpp"

using squib::platform::anycast_gateway_mac;
using squib::platform::uplink_policy_script;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("anycast_gateway_mac: locally administered unicast, stable, distinct per VNI and gateway",
          "[platform][vxlan_uplink]") {
  const auto mac = anycast_gateway_mac(42, 0x0a000001);
  CHECK(mac[0] == 0x02);  // locally administered, unicast
  CHECK(mac == anycast_gateway_mac(42, 0x0a000001));
  CHECK(mac != anycast_gateway_mac(43, 0x0a000001));
  CHECK(mac != anycast_gateway_mac(42, 0x0a000101));
  // The value itself is part of the contract: every host, every build, every version
  // computes the same gateway MAC (FNV-1a-64 of 00 00 00 2a 0a 00 00 01, low bytes first).
  CHECK(mac == std::array<std::uint8_t, 6>{0x02, 0x6a, 0xd5, 0x4b, 0x73, 0x13});
}

TEST_CASE("uplink_policy_script: replaces the table and drops DHCP and RS/RA both ways at the VXLAN port",
          "[platform][vxlan_uplink]") {
  const std::string script = uplink_policy_script("squib_up_0123456789", "sqvx-0123456789");
  CHECK(script.starts_with("add table bridge squib_up_0123456789\nflush table bridge squib_up_0123456789\n"));
  for (const char* counter : {"uplink_dhcp", "uplink_dhcp6", "uplink_router_discovery"}) {
    CHECK(has(script, std::string("counter ") + counter + " { }"));
  }
  for (const char* match : {"iifname \"sqvx-0123456789\"", "oifname \"sqvx-0123456789\""}) {
    const std::string m(match);
    CHECK(has(script, m + " ether type ip udp dport { 67, 68 } counter name \"uplink_dhcp\" drop"));
    CHECK(has(script, m + " ether type ip6 udp dport { 546, 547 } counter name \"uplink_dhcp6\" drop"));
    CHECK(has(script, m + " ether type ip6 icmpv6 type { nd-router-solicit, nd-router-advert } counter name "
                          "\"uplink_router_discovery\" drop"));
  }
  CHECK(has(script, "type filter hook prerouting priority -200; policy accept;"));
  CHECK(has(script, "type filter hook postrouting priority -200; policy accept;"));
  CHECK_FALSE(has(script, "ether saddr"));  // no gateway MAC given
}

TEST_CASE("uplink_policy_script: with the anycast gateway MAC, the gateway's own frames stay on the host",
          "[platform][vxlan_uplink]") {
  const std::string script =
      uplink_policy_script("squib_up_0123456789", "sqvx-0123456789", std::array<std::uint8_t, 6>{2, 0xab, 0, 1, 2, 3});
  CHECK(has(script, "counter uplink_gateway { }"));
  CHECK(has(script, "iifname \"sqvx-0123456789\" ether saddr 02:ab:00:01:02:03 counter name \"uplink_gateway\" drop"));
  CHECK(has(script, "oifname \"sqvx-0123456789\" ether saddr 02:ab:00:01:02:03 counter name \"uplink_gateway\" drop"));
}

TEST_CASE("uplink_policy_delete_script: deletes the table, present or not", "[platform][vxlan_uplink]") {
  CHECK(squib::platform::uplink_policy_delete_script("squib_up_0123456789") ==
        "add table bridge squib_up_0123456789\ndelete table bridge squib_up_0123456789\n");
}
