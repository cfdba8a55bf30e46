#pragma once

// Which interfaces would lose their IPv6 default route if squib-netd turned
// net.ipv6.conf.all.forwarding on (NAT66 of a shared network needs it)?
//
// ip-sysctl.rst, accept_ra: 1 = "accept router advertisements if forwarding is disabled",
// 2 = "even if forwarding is enabled"; and setting conf/all/forwarding sets every interface's
// forwarding. So a host whose uplink learns its default route from RAs (rtm_protocol
// RTPROT_RA) with accept_ra = 1 stops refreshing that route once forwarding is on, and loses
// IPv6 connectivity when the route's lifetime ends. libvirt refuses to start such a network
// (virNetDevIPCheckIPv6Forwarding: "enabling IPv6 forwarding with RA routes without accept_ra
// set to 2 is likely to cause routes loss"). squib-netd does the same for IPv6 only: the
// shared network still starts, with IPv4 out and IPv6 inside the network, but without NAT66
// and without turning IPv6 forwarding on; the log names the interfaces and the fix (set their
// accept_ra to 2). It never changes the host's RA settings itself: they belong to whatever
// manages the uplink (NetworkManager, systemd-networkd, ifupdown).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <squib/core/result.hpp>
#include <squib/platform/linux/netlink.hpp>

namespace squib::platform {

// The interfaces (ifindexes, each once) with an RA-learned default route whose accept_ra, as
// `accept_ra` reads it, is not 2 (an unreadable value counts as at risk).
std::vector<int> ra_default_route_ifindexes(const std::vector<HostRoute6>& routes,
                                            const std::function<std::optional<int>(int ifindex)>& accept_ra);

// The same on this host (netlink dump, /proc/sys/net/ipv6/conf/<if>/accept_ra), by name.
core::Result<std::vector<std::string>> ra_default_route_interfaces(Netlink& netlink);

}  // namespace squib::platform
