// Tests of squib/core/ipv4_subnet.hpp: the host/shared network address plan.

#include <squib/core/ipv4_subnet.hpp>

#include "support/catch.hpp"

namespace {
using squib::core::Ipv4Subnet;
using squib::core::ipv4_to_string;
}  // namespace

TEST_CASE("squib::core::Ipv4Subnet lays out gateway and DHCP range", "[platform]") {
  const auto subnet = squib::core::Ipv4Subnet::parse("192.168.105.0/24");
  REQUIRE(subnet);
  CHECK(subnet->to_string() == "192.168.105.0/24");
  CHECK(squib::core::ipv4_to_string(subnet->gateway()) == "192.168.105.1");
  CHECK(squib::core::ipv4_to_string(subnet->dhcp_first()) == "192.168.105.2");
  CHECK(squib::core::ipv4_to_string(subnet->dhcp_last()) == "192.168.105.254");
  CHECK(squib::core::ipv4_to_string(subnet->mask()) == "255.255.255.0");

  SECTION("a /30 leaves exactly one guest address") {
    const auto small = squib::core::Ipv4Subnet::parse("10.0.0.4/30");
    REQUIRE(small);
    CHECK(small->dhcp_first() == small->dhcp_last());
    CHECK(squib::core::ipv4_to_string(small->dhcp_first()) == "10.0.0.6");
  }
}

TEST_CASE("squib::core::Ipv4Subnet rejects what the protocol does not allow", "[platform]") {
  for (const char* bad : {"", "192.168.105.0", "192.168.105.0/", "192.168.105.0/7", "192.168.105.0/31",
                          "192.168.105.1/24", "300.1.1.0/24", "10.0.0.0/24x", "10.0.0.0/-1"}) {
    INFO(bad);
    CHECK_FALSE(squib::core::Ipv4Subnet::parse(bad));
  }
}

TEST_CASE("squib::core::Ipv4Subnet overlap is symmetric and prefix-aware", "[platform]") {
  const auto wide = squib::core::Ipv4Subnet::parse("10.0.0.0/8").value();
  const auto inner = squib::core::Ipv4Subnet::parse("10.9.0.0/16").value();
  const auto other = squib::core::Ipv4Subnet::parse("192.168.105.0/24").value();
  CHECK(wide.overlaps(inner));
  CHECK(inner.overlaps(wide));
  CHECK_FALSE(wide.overlaps(other));
  CHECK_FALSE(other.overlaps(inner));
}

TEST_CASE("squib::core::Ipv4Subnet::of takes an interface's address and netmask", "[platform]") {
  using squib::core::Ipv4Subnet;
  using squib::core::parse_ipv4;
  // vmnet reports its gateway (start address) and mask: 192.168.64.1 / 255.255.255.0.
  const auto subnet = Ipv4Subnet::of(parse_ipv4("192.168.64.1").value(), parse_ipv4("255.255.255.0").value());
  REQUIRE(subnet);
  CHECK(subnet->to_string() == "192.168.64.0/24");
  CHECK(Ipv4Subnet::of(parse_ipv4("10.1.2.3").value(), 0xfffff000U)->to_string() == "10.1.0.0/20");
  CHECK_FALSE(Ipv4Subnet::of(parse_ipv4("10.1.2.3").value(), 0xff00ff00U));  // not contiguous
  CHECK_FALSE(Ipv4Subnet::of(parse_ipv4("10.1.2.3").value(), 0xffffffffU));  // /32: no room
  CHECK_FALSE(parse_ipv4("192.168.64"));
  CHECK(parse_ipv4("0.0.0.1") == 1U);
}
