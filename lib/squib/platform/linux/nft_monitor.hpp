#pragma once

// NftMonitor: tells the loop that the nftables ruleset of this network namespace changed —
// any table, chain, rule or set added or removed by anybody (Docker starting, `ufw reload`,
// `nft -f`, our own `nft`) — so the host firewall integration (host_firewall.hpp) can look
// again. No polling: a NETLINK_NETFILTER socket subscribed to the NFNLGRP_NFTABLES multicast
// group (linux/netfilter/nfnetlink.h; what `nft monitor` itself listens to), watched by a
// uv_poll on the loop.
//
// Contract: `changed` runs on the loop, at most once per wakeup, after the socket has been
// drained (at most k_drain_messages reads, style §9). The messages are not parsed: which
// object changed does not matter, the whole ruleset is read again (one `nft -j list
// ruleset`, coalesced by the caller). A receive overrun (ENOBUFS: events were lost) counts as
// a change too. Destroying the monitor closes its handle; no callback runs afterwards.

#include <functional>
#include <memory>

#include <uv.h>

#include <squib/core/result.hpp>
#include <squib/uv/handle.hpp>

struct mnl_socket;

namespace squib::platform {

class NftMonitor {
 public:
  // Subscribes now; an Error when the kernel refuses (no CAP_NET_ADMIN, no nf_tables).
  static core::Result<std::unique_ptr<NftMonitor>> open(uv_loop_t* loop, std::function<void()> changed);
  ~NftMonitor();
  NftMonitor(const NftMonitor&) = delete;
  NftMonitor& operator=(const NftMonitor&) = delete;

 private:
  NftMonitor(mnl_socket* socket, std::function<void()> changed);
  void readable();

  mnl_socket* m_socket;
  std::function<void()> m_changed;
  uv::Handle<uv_poll_t> m_poll;
};

}  // namespace squib::platform
