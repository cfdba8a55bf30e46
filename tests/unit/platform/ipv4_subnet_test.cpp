// Tests of squib/platform/linux/ipv4_subnet.hpp: the host/shared network address plan.

#include <squib/platform/linux/ipv4_subnet.hpp>

#include "support/catch.hpp"

namespace {
using squib::platform::Ipv4Subnet;
using squib::platform::ipv4_to_string;
}  // namespace

TEST_CASE("Ipv4Subnet lays out gateway and DHCP range", "[platform]") {
  const auto subnet = Ipv4Subnet::parse("192.168.105.0/24");
  REQUIRE(subnet);
  CHECK(subnet->to_string() == "192.168.105.0/24");
  CHECK(ipv4_to_string(subnet->gateway()) == "192.168.105.1");
  CHECK(ipv4_to_string(subnet->dhcp_first()) == "192.168.105.2");
  CHECK(ipv4_to_string(subnet->dhcp_last()) == "192.168.105.254");
  CHECK(ipv4_to_string(subnet->mask()) == "255.255.255.0");

  SECTION("a /30 leaves exactly one guest address") {
    const auto small = Ipv4Subnet::parse("10.0.0.4/30");
    REQUIRE(small);
    CHECK(small->dhcp_first() == small->dhcp_last());
    CHECK(ipv4_to_string(small->dhcp_first()) == "10.0.0.6");
  }
}

TEST_CASE("Ipv4Subnet rejects what the protocol does not allow", "[platform]") {
  for (const char* bad : {"", "192.168.105.0", "192.168.105.0/", "192.168.105.0/7", "192.168.105.0/31",
                          "192.168.105.1/24", "300.1.1.0/24", "10.0.0.0/24x", "10.0.0.0/-1"}) {
    INFO(bad);
    CHECK_FALSE(Ipv4Subnet::parse(bad));
  }
}

TEST_CASE("Ipv4Subnet overlap is symmetric and prefix-aware", "[platform]") {
  const auto wide = Ipv4Subnet::parse("10.0.0.0/8").value();
  const auto inner = Ipv4Subnet::parse("10.9.0.0/16").value();
  const auto other = Ipv4Subnet::parse("192.168.105.0/24").value();
  CHECK(wide.overlaps(inner));
  CHECK(inner.overlaps(wide));
  CHECK_FALSE(wide.overlaps(other));
  CHECK_FALSE(other.overlaps(inner));
}
