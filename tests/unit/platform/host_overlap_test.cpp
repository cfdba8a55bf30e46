// Tests of squib/platform/linux/host_overlap.hpp's pure part: which host prefix a subnet
// collides with. (The netlink reading is exercised by the tenancy integration test, on a
// dummy interface in a namespace of its own.)

#include <squib/platform/linux/host_overlap.hpp>

#include <vector>

#include "support/catch.hpp"

using squib::core::Ipv4Subnet;
using squib::platform::first_overlap;
using squib::platform::HostPrefix;

namespace {

constexpr std::uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24U | b << 16U | c << 8U | d; }

}  // namespace

TEST_CASE("first_overlap: addresses by their connected subnet, routes by prefix, own bridges skipped", "[platform]") {
  const std::vector<HostPrefix> host = {
      {ip(127, 0, 0, 1), 8, 1, false},       // lo
      {ip(10, 9, 0, 5), 24, 2, false},       // a LAN address: 10.9.0.0/24 in use
      {ip(172, 16, 0, 0), 12, 3, true},      // a VPN route
      {ip(192, 168, 105, 1), 24, 7, false},  // one of our bridges
  };
  const auto overlap = [&](const char* cidr, std::vector<int> skipped = {}) {
    return first_overlap(squib::core::Ipv4Subnet::parse(cidr).value(), host, skipped);
  };
  CHECK_FALSE(overlap("10.9.1.0/24"));
  REQUIRE(overlap("10.9.0.0/24"));
  CHECK(overlap("10.9.0.0/24")->ifindex == 2);
  CHECK(overlap("10.0.0.0/8")->ifindex == 2);     // a wider subnet covering the LAN
  CHECK(overlap("10.9.0.128/25")->ifindex == 2);  // a narrower one inside it
  CHECK(overlap("172.20.5.0/24")->is_route);
  CHECK(overlap("127.1.0.0/16")->ifindex == 1);
  CHECK(overlap("192.168.105.0/24")->ifindex == 7);
  CHECK_FALSE(overlap("192.168.105.0/24", {7}));  // the daemon's own network
  CHECK_FALSE(overlap("192.168.106.0/24"));
}

TEST_CASE("first_overlap (IPv6): routes and host addresses, default routes and own bridges skipped", "[platform]") {
  using squib::platform::HostRoute6;
  const auto addr = [](const char* text) { return squib::core::parse_ipv6(text).value(); };
  const std::vector<HostRoute6> host = {
      {addr("::"), 0, 2, 9, false},                 // an RA default route: overlaps everything, skipped
      {addr("2001:db8:1::"), 48, 2, 2, false},      // a LAN route covering 2001:db8:1::/48
      {addr("fd00:aa::5"), 128, 3, 2, true},        // a host address without a prefix route
      {addr("fd12:3456:789a::"), 64, 7, 2, false},  // one of our bridges
      {addr("fd00:bb::"), 64, 8, 2, false},         // an address's prefix route, dumped first…
      {addr("fd00:bb::7"), 128, 8, 2, true},        // …and the address: reported as the address
  };
  const auto overlap = [&](const char* cidr, std::vector<int> skipped = {}) {
    return squib::platform::first_overlap(squib::core::Ipv6Prefix::parse(cidr).value(), host, skipped);
  };
  CHECK_FALSE(overlap("fd00:1:2:3::/64"));
  REQUIRE(overlap("2001:db8:1:5::/64"));  // inside a wider route
  CHECK(overlap("2001:db8:1:5::/64")->ifindex == 2);
  CHECK_FALSE(overlap("2001:db8:2::/64"));
  REQUIRE(overlap("fd00:aa::/64"));  // holds a host address
  CHECK(overlap("fd00:aa::/64")->local);
  CHECK(overlap("fd12:3456:789a::/64")->ifindex == 7);
  CHECK_FALSE(overlap("fd12:3456:789a::/64", {7}));  // the daemon's own network
  CHECK(overlap("fd00:bb::/64")->local);
}
