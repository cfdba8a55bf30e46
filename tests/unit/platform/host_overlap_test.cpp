// Tests of squib/platform/linux/host_overlap.hpp's pure part: which host prefix a subnet
// collides with. (The netlink reading is exercised by the tenancy integration test, on a
// dummy interface in a namespace of its own.)

#include <squib/platform/linux/host_overlap.hpp>

#include <vector>

#include "support/catch.hpp"

using squib::platform::first_overlap;
using squib::platform::HostPrefix;
using squib::core::Ipv4Subnet;

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
