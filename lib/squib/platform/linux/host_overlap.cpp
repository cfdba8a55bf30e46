#include <squib/platform/linux/host_overlap.hpp>

#include <net/if.h>

#include <algorithm>

namespace squib::platform {

std::optional<HostPrefix> first_overlap(const core::Ipv4Subnet& subnet, const std::vector<HostPrefix>& host,
                                        const std::vector<int>& skipped_ifindexes) {
  for (const auto& entry : host) {
    if (entry.ifindex != 0 &&
        std::find(skipped_ifindexes.begin(), skipped_ifindexes.end(), entry.ifindex) != skipped_ifindexes.end()) {
      continue;
    }
    core::Ipv4Subnet used{entry.network, entry.prefix};
    used.network &= used.mask();
    if (used.overlaps(subnet)) return entry;
  }
  return std::nullopt;
}

core::Result<std::optional<std::string>> host_overlap(Netlink& netlink, const core::Ipv4Subnet& subnet,
                                                      const std::vector<std::string>& skipped_interfaces) {
  auto addresses = netlink.list_ipv4_addresses();
  if (!addresses) return addresses.error();
  auto routes = netlink.list_ipv4_routes();
  if (!routes) return routes.error();
  std::vector<HostPrefix> host = std::move(addresses.value());
  host.insert(host.end(), routes.value().begin(), routes.value().end());
  std::vector<int> skipped;
  for (const auto& name : skipped_interfaces) {
    if (const unsigned index = ::if_nametoindex(name.c_str()); index != 0) skipped.push_back(static_cast<int>(index));
  }
  const auto overlap = first_overlap(subnet, host, skipped);
  if (!overlap) return std::optional<std::string>();
  char ifname[IF_NAMESIZE] = "?";
  if (overlap->ifindex == 0 || ::if_indextoname(static_cast<unsigned>(overlap->ifindex), ifname) == nullptr) {
    ifname[0] = '?';
    ifname[1] = '\0';
  }
  const std::string prefix = core::ipv4_to_string(overlap->network) + "/" + std::to_string(overlap->prefix);
  return std::optional<std::string>(overlap->is_route ? "the route " + prefix + " via " + ifname
                                                      : prefix + " on " + ifname + " (a host address)");
}

}  // namespace squib::platform
