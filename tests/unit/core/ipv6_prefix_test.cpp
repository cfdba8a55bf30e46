// Tests of squib/core/ipv6_prefix.hpp: a network's IPv6 /64 and the addresses in it.

#include <squib/core/ipv6_prefix.hpp>

#include "support/catch.hpp"

namespace {
using squib::core::ipv6_to_string;
using squib::core::Ipv6Prefix;
using squib::core::MacAddress;

const MacAddress k_mac = MacAddress::parse("52:54:00:12:34:56").value();
}  // namespace

TEST_CASE("squib::core::Ipv6Prefix derives SLAAC and link-local addresses from the MAC", "[platform]") {
  const auto prefix = Ipv6Prefix::parse("fd00:1:2:3::/64");
  REQUIRE(prefix);
  CHECK(prefix->to_string() == "fd00:1:2:3::/64");
  CHECK(ipv6_to_string(prefix->gateway()) == "fd00:1:2:3::1");
  // RFC 4291 appendix A: 52 → 50 (U/L bit flipped), ff:fe in the middle — what Linux forms.
  CHECK(ipv6_to_string(prefix->slaac_address(k_mac)) == "fd00:1:2:3:5054:ff:fe12:3456");
  CHECK(ipv6_to_string(squib::core::link_local_for(k_mac)) == "fe80::5054:ff:fe12:3456");
  CHECK(prefix->contains(prefix->slaac_address(k_mac)));
  CHECK_FALSE(prefix->contains(squib::core::link_local_for(k_mac)));
}

TEST_CASE("squib::core::Ipv6Prefix::ula_for is a stable ULA /64 per name", "[platform]") {
  const Ipv6Prefix a = Ipv6Prefix::ula_for("default");
  CHECK(a == Ipv6Prefix::ula_for("default"));
  CHECK_FALSE(a == Ipv6Prefix::ula_for("other"));
  CHECK(a.network[0] == 0xfd);
  CHECK(a.network[6] == 0);  // subnet ID 0
  CHECK(a.network[7] == 0);
  CHECK(Ipv6Prefix::parse(a.to_string()) == a);
}

TEST_CASE("squib::core::Ipv6Prefix rejects what a network cannot use", "[platform]") {
  for (const char* bad : {"", "fd00::", "fd00::/48", "fd00::/65", "fd00::1/64", "fe80::/64", "ff02::/64", "::/64",
                          "fd00::/64x", "not-an-address/64", "192.168.1.0/64"}) {
    INFO(bad);
    CHECK_FALSE(Ipv6Prefix::parse(bad));
  }
  CHECK(squib::core::parse_ipv6("fd00::1"));
  CHECK_FALSE(squib::core::parse_ipv6("fd00::1::2"));
}
