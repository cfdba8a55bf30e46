#pragma once

// read_link_stats: one interface's counters from the kernel (RTM_GETLINK for that name,
// IFLA_STATS64 = struct rtnl_link_stats64, linux/if_link.h), by rtnetlink on a socket of its
// own (libmnl, as platform/linux/netlink.hpp and for the same reasons). Used for handed-off
// TAPs, whose frames the daemon never sees: the TAP's rx is what the VMM wrote (from the VM),
// its tx what the kernel queued for the VMM (to the VM), and tx_dropped what the VMM did not
// read in time (its queue was full).
//
// Contract: one request and its answer on a local socket, a few microseconds; control path
// only (the stats refresh, once a second per handed-off TAP). ENODEV when there is no such
// interface.

#include <cstdint>
#include <string>

#include <squib/core/result.hpp>

namespace squib::platform {

struct LinkStats {
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_dropped = 0;
  std::uint64_t rx_errors = 0;
  std::uint64_t tx_errors = 0;
  bool carrier = false;  // IFF_LOWER_UP: for a TAP, a VMM has it open
};

core::Result<LinkStats> read_link_stats(const std::string& ifname);

}  // namespace squib::platform
