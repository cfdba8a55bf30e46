#include <squib/platform/linux/nft_monitor.hpp>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>


namespace squib::platform {

using core::Error;
using core::Result;

namespace {

// Reads per wakeup at most (style §9); a burst beyond it wakes the loop again.
constexpr int k_drain_messages = 64;
// One read takes one netlink datagram; the kernel's event messages for nftables objects fit
// in a page, MNL_SOCKET_BUFFER_SIZE (libmnl's advice) covers them.
constexpr std::size_t k_buffer_size = 8192;

}  // namespace

Result<std::unique_ptr<NftMonitor>> NftMonitor::open(uv_loop_t* loop, std::function<void()> changed) {
  mnl_socket* socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (socket == nullptr) return Error::from_errno("netlink netfilter socket");
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int saved = errno;
    mnl_socket_close(socket);
    return Error::from_errno("netlink netfilter bind", saved);
  }
  int group = NFNLGRP_NFTABLES;
  if (mnl_socket_setsockopt(socket, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    const int saved = errno;
    mnl_socket_close(socket);
    return Error::from_errno("subscribe to nftables events", saved);
  }
  std::unique_ptr<NftMonitor> monitor(new NftMonitor(socket, std::move(changed)));
  uv_poll_t* poll = monitor->m_poll.get();
  if (const int rc = uv_poll_init(loop, poll, mnl_socket_get_fd(socket)); rc != 0) {
    return Error{-rc, std::string("uv_poll_init: ") + uv_strerror(rc)};
  }
  poll->data = monitor.get();
  if (const int rc = uv_poll_start(poll, UV_READABLE,
                                   [](uv_poll_t* handle, int, int) { uv::owner_of<NftMonitor>(handle)->readable(); });
      rc != 0) {
    return Error{-rc, std::string("uv_poll_start: ") + uv_strerror(rc)};
  }
  return monitor;
}

NftMonitor::NftMonitor(mnl_socket* socket, std::function<void()> changed)
    : m_socket(socket), m_changed(std::move(changed)) {}

NftMonitor::~NftMonitor() {
  m_poll.close();  // no callback runs after this (handle.hpp); then the fd can go
  mnl_socket_close(m_socket);
}

void NftMonitor::readable() {
  std::array<char, k_buffer_size> buffer{};
  bool changed = false;
  for (int i = 0; i < k_drain_messages; ++i) {
    const ssize_t n = mnl_socket_recvfrom(m_socket, buffer.data(), buffer.size());
    if (n > 0) {
      changed = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {  // overrun: events were lost, the ruleset changed
      changed = true;
      continue;
    }
    break;  // EAGAIN: drained
  }
  if (changed) m_changed();  // last: it may destroy this monitor
}

}  // namespace squib::platform
