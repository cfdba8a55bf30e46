#include <squib/platform/linux/ra_default_routes.hpp>

#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <fstream>

namespace squib::platform {

std::vector<int> ra_default_route_ifindexes(const std::vector<HostRoute6>& routes,
                                            const std::function<std::optional<int>(int ifindex)>& accept_ra) {
  std::vector<int> out;
  for (const auto& route : routes) {
    if (route.prefix != 0 || route.protocol != RTPROT_RA || route.ifindex == 0) continue;
    if (std::find(out.begin(), out.end(), route.ifindex) != out.end()) continue;
    if (accept_ra(route.ifindex) != 2) out.push_back(route.ifindex);
  }
  return out;
}

core::Result<std::vector<std::string>> ra_default_route_interfaces(Netlink& netlink) {
  auto routes = netlink.list_ipv6_routes();
  if (!routes) return routes.error();
  const auto name_of = [](int ifindex) -> std::string {
    char name[IF_NAMESIZE] = {};
    if (::if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr) return "if" + std::to_string(ifindex);
    return name;
  };
  const auto read_accept_ra = [&name_of](int ifindex) -> std::optional<int> {
    std::ifstream in("/proc/sys/net/ipv6/conf/" + name_of(ifindex) + "/accept_ra");
    int value = 0;
    if (!(in >> value)) return std::nullopt;
    return value;
  };
  std::vector<std::string> names;
  for (const int ifindex : ra_default_route_ifindexes(routes.value(), read_accept_ra))
    names.push_back(name_of(ifindex));
  return names;
}

}  // namespace squib::platform
