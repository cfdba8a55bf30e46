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

namespace {

std::vector<int> indexes_of(const std::vector<std::string>& names) {
  std::vector<int> indexes;
  for (const auto& name : names) {
    if (const unsigned index = ::if_nametoindex(name.c_str()); index != 0) indexes.push_back(static_cast<int>(index));
  }
  return indexes;
}

std::string interface_name(int ifindex) {
  char name[IF_NAMESIZE] = "?";
  if (ifindex == 0 || ::if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr) return "?";
  return name;
}

// Do the first `bits` bits of a and b agree?
bool same_leading_bits(const core::Ipv6Address& a, const core::Ipv6Address& b, unsigned bits) {
  for (unsigned i = 0; i < 16 && bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
    const unsigned mask = bits >= 8 ? 0xffU : (0xffU << (8 - bits)) & 0xffU;
    if ((static_cast<unsigned>(a[i] ^ b[i]) & mask) != 0) return false;
  }
  return true;
}

}  // namespace

std::optional<HostRoute6> first_overlap(const core::Ipv6Prefix& prefix, const std::vector<HostRoute6>& host,
                                        const std::vector<int>& skipped_ifindexes) {
  constexpr unsigned k_prefix_bits = 64;
  // Host addresses first, then routes (an address's prefix route would name the same thing
  // less precisely), whatever order the kernel dumped them in.
  for (const bool local : {true, false}) {
    for (const auto& entry : host) {
      if (entry.local != local || entry.prefix == 0) continue;  // prefix 0: a default route
      if (entry.ifindex != 0 &&
          std::find(skipped_ifindexes.begin(), skipped_ifindexes.end(), entry.ifindex) != skipped_ifindexes.end()) {
        continue;
      }
      // Two prefixes overlap when they agree on the shorter one's bits.
      if (same_leading_bits(entry.network, prefix.network, std::min(entry.prefix, k_prefix_bits))) return entry;
    }
  }
  return std::nullopt;
}

core::Result<std::optional<std::string>> host_overlap(Netlink& netlink, const core::Ipv6Prefix& prefix,
                                                      const std::vector<std::string>& skipped_interfaces) {
  auto routes = netlink.list_ipv6_routes();
  if (!routes) return routes.error();
  const auto overlap = first_overlap(prefix, routes.value(), indexes_of(skipped_interfaces));
  if (!overlap) return std::optional<std::string>();
  const std::string text = core::ipv6_to_string(overlap->network) + "/" + std::to_string(overlap->prefix);
  const std::string ifname = interface_name(overlap->ifindex);
  return std::optional<std::string>(overlap->local
                                        ? core::ipv6_to_string(overlap->network) + " on " + ifname + " (a host address)"
                                        : "the route " + text + " via " + ifname);
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
