#include <squib/platform/linux/link_stats.hpp>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace squib::platform {

using core::Error;
using core::Result;

namespace {

// As netlink.cpp: MNL_SOCKET_BUFFER_SIZE is at most 8 KiB; one link message fits.
constexpr std::size_t k_buffer_size = 8192;

struct SocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};

int parse_attr(const nlattr* attr, void* data) {
  auto* stats = static_cast<LinkStats*>(data);
  if (mnl_attr_get_type(attr) != IFLA_STATS64) return MNL_CB_OK;
  if (mnl_attr_get_payload_len(attr) < sizeof(rtnl_link_stats64)) return MNL_CB_OK;
  rtnl_link_stats64 raw{};
  std::memcpy(&raw, mnl_attr_get_payload(attr), sizeof raw);  // the payload may be unaligned
  stats->rx_packets = raw.rx_packets;
  stats->rx_bytes = raw.rx_bytes;
  stats->tx_packets = raw.tx_packets;
  stats->tx_bytes = raw.tx_bytes;
  stats->tx_dropped = raw.tx_dropped;
  stats->rx_errors = raw.rx_errors;
  stats->tx_errors = raw.tx_errors;
  return MNL_CB_OK;
}

int parse_message(const nlmsghdr* message, void* data) {
  auto* stats = static_cast<LinkStats*>(data);
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message));
  stats->carrier = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
  return mnl_attr_parse(message, sizeof *ifi, parse_attr, data);
}

}  // namespace

Result<LinkStats> read_link_stats(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return Error{EINVAL, "interface name '" + ifname + "'"};
  std::unique_ptr<mnl_socket, SocketCloser> socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
  if (!socket) return Error::from_errno("netlink socket");
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) return Error::from_errno("netlink bind");
  std::vector<char> buffer(k_buffer_size);
  nlmsghdr* request = mnl_nlmsg_put_header(buffer.data());
  request->nlmsg_type = RTM_GETLINK;
  request->nlmsg_flags = NLM_F_REQUEST;
  request->nlmsg_seq = 1;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(request, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(request, IFLA_IFNAME, ifname.c_str());
  if (mnl_socket_sendto(socket.get(), request, request->nlmsg_len) < 0) return Error::from_errno("RTM_GETLINK " + ifname);
  const unsigned portid = mnl_socket_get_portid(socket.get());
  LinkStats stats;
  ssize_t n = 0;
  do {
    n = mnl_socket_recvfrom(socket.get(), buffer.data(), buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error::from_errno("RTM_GETLINK " + ifname);
  // An error answer (ENODEV) comes back as a negative return with errno set.
  if (mnl_cb_run(buffer.data(), static_cast<std::size_t>(n), 1, portid, parse_message, &stats) < 0) {
    return Error::from_errno("RTM_GETLINK " + ifname);
  }
  return stats;
}

}  // namespace squib::platform
