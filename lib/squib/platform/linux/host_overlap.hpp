#pragma once

// Does a subnet a network would use collide with one the host already uses? A bridge
// network over the host's LAN, VPN or container subnet would shadow those routes for the
// whole machine, so squib-netd refuses such a subnet, as libvirt refuses a network that
// overlaps a host route (libvirt: "Network is already in use by interface …").
//
// The host's prefixes are its interface addresses (the connected subnet of each) and its
// unicast routes with a destination (every table; the default route overlaps everything and
// is left out). Interfaces of the daemon's own networks are skipped by the caller.

#include <optional>
#include <string>
#include <vector>

#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/result.hpp>
#include <squib/platform/linux/netlink.hpp>

namespace squib::platform {

// The first of `host` that overlaps `subnet`, skipping entries on `skipped_ifindexes`.
std::optional<HostPrefix> first_overlap(const core::Ipv4Subnet& subnet, const std::vector<HostPrefix>& host,
                                        const std::vector<int>& skipped_ifindexes);

// Reads the host's addresses and routes; a sentence naming the colliding address or route
// and its interface (e.g. "10.9.0.5/24 on dummy0 (a host address)"), or nullopt when free.
core::Result<std::optional<std::string>> host_overlap(Netlink& netlink, const core::Ipv4Subnet& subnet,
                                                      const std::vector<std::string>& skipped_interfaces);

// IPv6 (a network's /64): the host's prefixes are its IPv6 routes with a destination, in every
// table, the local ones (its own addresses, /128) included, so an address configured without
// a prefix route still counts. Default routes are left out, as above.
std::optional<HostRoute6> first_overlap(const core::Ipv6Prefix& prefix, const std::vector<HostRoute6>& host,
                                        const std::vector<int>& skipped_ifindexes);
core::Result<std::optional<std::string>> host_overlap(Netlink& netlink, const core::Ipv6Prefix& prefix,
                                                      const std::vector<std::string>& skipped_interfaces);

}  // namespace squib::platform
