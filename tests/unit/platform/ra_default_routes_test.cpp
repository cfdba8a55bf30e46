// Tests of squib/platform/linux/ra_default_routes.hpp's pure part: which interfaces would lose
// their RA-learned IPv6 default route once forwarding is on (accept_ra other than 2).

#include <squib/platform/linux/ra_default_routes.hpp>

#include <linux/rtnetlink.h>

#include <map>
#include <vector>

#include "support/catch.hpp"

using squib::platform::HostRoute6;

TEST_CASE("ra_default_route_ifindexes: RA default routes on interfaces whose accept_ra is not 2", "[platform]") {
  const squib::core::Ipv6Address any{};
  const auto lan = squib::core::parse_ipv6("2001:db8::").value();
  const std::vector<HostRoute6> routes = {
      {any, 0, 2, RTPROT_RA, false},      // eth0: learned from an RA
      {any, 0, 2, RTPROT_RA, false},      // eth0 again (a second router): reported once
      {any, 0, 3, RTPROT_RA, false},      // wlan0: learned from an RA, accept_ra = 2
      {any, 0, 4, RTPROT_STATIC, false},  // a static default route: forwarding does not touch it
      {lan, 64, 5, RTPROT_RA, false},     // an RA-learned prefix route, not a default route
      {any, 0, 6, RTPROT_RA, false},      // accept_ra unreadable: counted as at risk
  };
  const std::map<int, int> accept_ra = {{2, 1}, {3, 2}, {4, 1}, {5, 1}};
  const auto read = [&](int ifindex) -> std::optional<int> {
    const auto it = accept_ra.find(ifindex);
    if (it == accept_ra.end()) return std::nullopt;
    return it->second;
  };
  CHECK(squib::platform::ra_default_route_ifindexes(routes, read) == std::vector<int>{2, 6});
  CHECK(squib::platform::ra_default_route_ifindexes({}, read).empty());
}
