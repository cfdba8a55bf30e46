#include <squib/platform/linux/netlink.hpp>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

// IFF_LOWER_UP; after net/if.h (its own block, so that sorting keeps it there), which
// linux/libc-compat.h then reconciles with it.
#include <linux/if.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace squib::platform {

using core::Error;
using core::Result;

namespace {

// Requests and dump replies use buffers of MNL_SOCKET_BUFFER_SIZE (the page size, at most
// 8 KiB; libmnl's advice so that no dump part is truncated); 8 KiB covers every page size
// up to 8 KiB and any request we build.
constexpr std::size_t k_buffer_size = 8192;

Result<int> index_of(const std::string& name) {
  const unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) return Error::from_errno("interface " + name);
  return static_cast<int>(index);
}

int parse_linkinfo(const nlattr* attr, void* data) {
  auto* info = static_cast<LinkInfo*>(data);
  if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0) {
    info->kind = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

int parse_link_attr(const nlattr* attr, void* data) {
  auto* info = static_cast<LinkInfo*>(data);
  switch (mnl_attr_get_type(attr)) {
    case IFLA_IFNAME:
      if (mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0) info->name = mnl_attr_get_str(attr);
      break;
    case IFLA_MTU:
      if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) info->mtu = mnl_attr_get_u32(attr);
      break;
    case IFLA_MASTER:
      if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) info->master = static_cast<int>(mnl_attr_get_u32(attr));
      break;
    case IFLA_LINKINFO:
      if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) mnl_attr_parse_nested(attr, parse_linkinfo, info);
      break;
    case IFLA_STATS64:
      if (mnl_attr_get_payload_len(attr) >= sizeof(rtnl_link_stats64)) {
        rtnl_link_stats64 raw{};
        std::memcpy(&raw, mnl_attr_get_payload(attr), sizeof raw);  // the payload may be unaligned
        info->stats = {raw.rx_packets, raw.rx_bytes,  raw.tx_packets, raw.tx_bytes,
                       raw.tx_dropped, raw.rx_errors, raw.tx_errors,  raw.rx_dropped};
      }
      break;
    default: break;
  }
  return MNL_CB_OK;
}

// The 32-bit attributes of an address or route message, by type (IFA_* and RTA_* types are
// small), converted from network byte order.
struct Ipv4Attributes {
  std::array<std::optional<std::uint32_t>, 32> values;
};

int parse_ipv4_attr(const nlattr* attr, void* data) {
  auto* attributes = static_cast<Ipv4Attributes*>(data);
  const auto type = mnl_attr_get_type(attr);
  if (type < attributes->values.size() && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
    attributes->values[type] = ntohl(mnl_attr_get_u32(attr));
  }
  return MNL_CB_OK;
}

LinkInfo parse_link(const nlmsghdr* message) {
  LinkInfo info;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message));
  info.index = ifi->ifi_index;
  info.up = (ifi->ifi_flags & IFF_UP) != 0;
  info.carrier = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
  mnl_attr_parse(message, sizeof *ifi, parse_link_attr, &info);
  return info;
}

}  // namespace

Result<Netlink> Netlink::open(int protocol) {
  mnl_socket* socket = mnl_socket_open2(protocol, SOCK_CLOEXEC);
  if (socket == nullptr) return Error::from_errno("netlink socket");
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(socket);
    return Error::from_errno("netlink bind", err);
  }
  // Extended acks carry the kernel's error text; we only need errno, so no NETLINK_EXT_ACK.
  return Netlink(socket);
}

Netlink::Netlink(mnl_socket* socket)
    : m_socket(socket), m_portid(mnl_socket_get_portid(socket)), m_buffer(k_buffer_size) {}

Netlink::~Netlink() {
  if (m_socket != nullptr) mnl_socket_close(m_socket);
}

Netlink::Netlink(Netlink&& other) noexcept
    : m_socket(std::exchange(other.m_socket, nullptr)),
      m_portid(other.m_portid),
      m_seq(other.m_seq),
      m_buffer(std::move(other.m_buffer)) {}

Netlink& Netlink::operator=(Netlink&& other) noexcept {
  if (this != &other) {
    if (m_socket != nullptr) mnl_socket_close(m_socket);
    m_socket = std::exchange(other.m_socket, nullptr);
    m_portid = other.m_portid;
    m_seq = other.m_seq;
    m_buffer = std::move(other.m_buffer);
  }
  return *this;
}

Result<void> Netlink::transact(const std::string& what, const std::function<void(const nlmsghdr*)>& on_message) {
  auto* request = reinterpret_cast<nlmsghdr*>(m_buffer.data());
  const unsigned seq = request->nlmsg_seq;
  if (mnl_socket_sendto(m_socket, request, request->nlmsg_len) < 0) return Error::from_errno(what + ": netlink send");
  std::vector<char> reply(k_buffer_size);
  struct Context {
    const std::function<void(const nlmsghdr*)>* on_message;
  } context{&on_message};
  for (;;) {
    ssize_t n = 0;
    do {
      n = mnl_socket_recvfrom(m_socket, reply.data(), reply.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Error::from_errno(what + ": netlink receive");
    // mnl_cb_run: MNL_CB_STOP on NLMSG_DONE or the ack, -1 with errno on NLMSG_ERROR.
    const int rc = mnl_cb_run(
        reply.data(), static_cast<std::size_t>(n), seq, m_portid,
        [](const nlmsghdr* message, void* data) -> int {
          const auto* ctx = static_cast<Context*>(data);
          if (*ctx->on_message) (*ctx->on_message)(message);
          return MNL_CB_OK;
        },
        &context);
    if (rc < 0) return Error::from_errno(what);
    if (rc == MNL_CB_STOP) return {};
  }
}

namespace {

nlmsghdr* begin(std::vector<char>& buffer, unsigned& seq, std::uint16_t type, std::uint16_t flags) {
  std::memset(buffer.data(), 0, buffer.size());
  nlmsghdr* message = mnl_nlmsg_put_header(buffer.data());
  message->nlmsg_type = type;
  message->nlmsg_flags = NLM_F_REQUEST | flags;
  message->nlmsg_seq = ++seq;
  return message;
}

}  // namespace

Result<void> Netlink::create_bridge(const std::string& name) {
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(message, IFLA_IFNAME, name.c_str());
  nlattr* linkinfo = mnl_attr_nest_start(message, IFLA_LINKINFO);
  mnl_attr_put_strz(message, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(message, linkinfo);
  return transact("create bridge " + name);
}

Result<void> Netlink::create_vxlan(const std::string& name, const VxlanLinkParams& params) {
  // As `ip link add NAME type vxlan id VNI local L [group G dev D] dstport P` (iproute2
  // ip/iplink_vxlan.c): IFLA_INFO_DATA holds IFLA_VXLAN_* (linux/if_link.h). Addresses and
  // the port are in network byte order; the id and link index in host order.
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(message, IFLA_IFNAME, name.c_str());
  nlattr* linkinfo = mnl_attr_nest_start(message, IFLA_LINKINFO);
  mnl_attr_put_strz(message, IFLA_INFO_KIND, "vxlan");
  nlattr* data = mnl_attr_nest_start(message, IFLA_INFO_DATA);
  mnl_attr_put_u32(message, IFLA_VXLAN_ID, params.vni);
  mnl_attr_put(message, params.local.ipv6 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL, params.local.size(),
               params.local.bytes.data());
  if (params.group) {
    mnl_attr_put(message, params.group->ipv6 ? IFLA_VXLAN_GROUP6 : IFLA_VXLAN_GROUP, params.group->size(),
                 params.group->bytes.data());
  }
  if (params.link != 0) mnl_attr_put_u32(message, IFLA_VXLAN_LINK, static_cast<std::uint32_t>(params.link));
  mnl_attr_put_u16(message, IFLA_VXLAN_PORT, htons(params.port));
  mnl_attr_put_u8(message, IFLA_VXLAN_LEARNING, params.learning ? 1 : 0);
  mnl_attr_nest_end(message, data);
  mnl_attr_nest_end(message, linkinfo);
  return transact("create vxlan " + name);
}

Result<void> Netlink::delete_link(const std::string& name) {
  auto index = index_of(name);
  if (!index) return index.error();
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_DELLINK, NLM_F_ACK);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index.value();
  return transact("delete link " + name);
}

Result<void> Netlink::set_link(const std::string& name, const LinkChange& change) {
  auto index = index_of(name);
  if (!index) return index.error();
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_NEWLINK, NLM_F_ACK);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index.value();
  if (change.up) {
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = *change.up ? IFF_UP : 0;
  }
  if (change.mtu) mnl_attr_put_u32(message, IFLA_MTU, *change.mtu);
  if (change.master) mnl_attr_put_u32(message, IFLA_MASTER, static_cast<std::uint32_t>(*change.master));
  if (change.address) mnl_attr_put(message, IFLA_ADDRESS, change.address->size(), change.address->data());
  return transact("set link " + name);
}

Result<void> Netlink::add_ipv4_address(const std::string& name, std::uint32_t address_be, unsigned prefix) {
  auto index = index_of(name);
  if (!index) return index.error();
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(index.value());
  const std::uint32_t host_mask = prefix >= 32 ? 0 : (0xffffffffU >> prefix);
  const std::uint32_t broadcast_be = address_be | htonl(host_mask);
  mnl_attr_put_u32(message, IFA_LOCAL, address_be);
  mnl_attr_put_u32(message, IFA_ADDRESS, address_be);
  mnl_attr_put_u32(message, IFA_BROADCAST, broadcast_be);
  return transact("add address to " + name);
}

Result<void> Netlink::add_ipv6_address(const std::string& name, const core::Ipv6Address& address, unsigned prefix) {
  auto index = index_of(name);
  if (!index) return index.error();
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET6;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_flags = IFA_F_NODAD;
  ifa->ifa_index = static_cast<unsigned>(index.value());
  mnl_attr_put(message, IFA_LOCAL, address.size(), address.data());
  mnl_attr_put(message, IFA_ADDRESS, address.size(), address.data());
  // ifa_flags holds 8 bits; IFA_FLAGS (Linux 3.14) is the 32-bit field the kernel prefers.
  mnl_attr_put_u32(message, IFA_FLAGS, IFA_F_NODAD);
  return transact("add IPv6 address to " + name);
}

Result<void> Netlink::set_bridge_port(const std::string& name, const BridgePortChange& change) {
  auto index = index_of(name);
  if (!index) return index.error();
  // As `bridge link set dev NAME isolated on learning off flood off` (iproute2 bridge/link.c):
  // RTM_SETLINK in the AF_BRIDGE family with a nested IFLA_PROTINFO carrying the port flags.
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_SETLINK, NLM_F_ACK);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_BRIDGE;
  ifi->ifi_index = index.value();
  nlattr* protinfo = mnl_attr_nest_start(message, IFLA_PROTINFO | NLA_F_NESTED);
  const auto put = [message](std::uint16_t type, const std::optional<bool>& value) {
    if (value) mnl_attr_put_u8(message, type, *value ? 1 : 0);
  };
  put(IFLA_BRPORT_ISOLATED, change.isolated);
  put(IFLA_BRPORT_LEARNING, change.learning);
  put(IFLA_BRPORT_UNICAST_FLOOD, change.unicast_flood);
  mnl_attr_nest_end(message, protinfo);
  return transact("set bridge port flags on " + name);
}

Result<void> Netlink::add_static_fdb_entry(const std::string& name, const std::array<std::uint8_t, 6>& mac) {
  auto index = index_of(name);
  if (!index) return index.error();
  // As iproute2's `bridge fdb replace … master static`: RTM_NEWNEIGH, AF_BRIDGE, NTF_MASTER
  // (the bridge's table, not the port device's own), state NUD_NOARP (static: never ages).
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ndmsg)));
  ndm->ndm_family = AF_BRIDGE;
  ndm->ndm_ifindex = index.value();
  ndm->ndm_state = NUD_NOARP;
  ndm->ndm_flags = NTF_MASTER;
  mnl_attr_put(message, NDA_LLADDR, mac.size(), mac.data());
  return transact("add static FDB entry on " + name);
}

Result<void> Netlink::append_fdb_flood_entry(const std::string& name, const core::IpAddress& remote) {
  auto index = index_of(name);
  if (!index) return index.error();
  // What `bridge fdb append 00:00:00:00:00:00 dev NAME dst REMOTE` sends (iproute2
  // bridge/fdb.c fdb_modify): RTM_NEWNEIGH, AF_BRIDGE, NLM_F_CREATE | NLM_F_APPEND (a further
  // destination for the same MAC, not a replacement), NTF_SELF (the VXLAN device's own FDB,
  // not a bridge's), NUD_NOARP | NUD_PERMANENT (static), NDA_LLADDR all-zero (the default
  // destination, vxlan_xmit's fallback) and NDA_DST the remote (4 or 16 bytes).
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK);
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ndmsg)));
  ndm->ndm_family = AF_BRIDGE;
  ndm->ndm_ifindex = index.value();
  ndm->ndm_state = NUD_NOARP | NUD_PERMANENT;
  ndm->ndm_flags = NTF_SELF;
  const std::array<std::uint8_t, 6> all_zero{};
  mnl_attr_put(message, NDA_LLADDR, all_zero.size(), all_zero.data());
  mnl_attr_put(message, NDA_DST, remote.size(), remote.bytes.data());
  return transact("append FDB flood entry on " + name);
}

Result<int> Netlink::route_oif(const core::IpAddress& destination) {
  // As `ip route get DESTINATION`: RTM_GETROUTE without NLM_F_DUMP, RTA_DST of full length;
  // the kernel answers one RTM_NEWROUTE (rtnetlink(7)) whose RTA_OIF is the interface.
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_GETROUTE, NLM_F_ACK);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  rtm->rtm_family = destination.ipv6 ? AF_INET6 : AF_INET;
  rtm->rtm_dst_len = static_cast<unsigned char>(destination.size() * 8);
  mnl_attr_put(message, RTA_DST, destination.size(), destination.bytes.data());
  int oif = 0;
  auto done = transact("route to tunnel destination", [&oif](const nlmsghdr* reply) {
    if (reply->nlmsg_type != RTM_NEWROUTE) return;
    mnl_attr_parse(
        reply, sizeof(rtmsg),
        [](const nlattr* attr, void* data) -> int {
          if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
            *static_cast<int*>(data) = static_cast<int>(mnl_attr_get_u32(attr));
          }
          return MNL_CB_OK;
        },
        &oif);
  });
  if (!done) return done.error();
  if (oif == 0) return Error{ENETUNREACH, "route to tunnel destination: no output interface"};
  return oif;
}

Result<std::vector<LinkInfo>> Netlink::list_links() {
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_GETLINK, NLM_F_DUMP);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  std::vector<LinkInfo> links;
  auto done = transact("list links", [&links](const nlmsghdr* reply) {
    if (reply->nlmsg_type == RTM_NEWLINK) links.push_back(parse_link(reply));
  });
  if (!done) return done.error();
  return links;
}

Result<std::vector<HostPrefix>> Netlink::list_ipv4_addresses() {
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_GETADDR, NLM_F_DUMP);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  std::vector<HostPrefix> out;
  auto done = transact("list addresses", [&out](const nlmsghdr* reply) {
    if (reply->nlmsg_type != RTM_NEWADDR) return;
    const auto* header = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(reply));
    if (header->ifa_family != AF_INET) return;
    HostPrefix entry;
    entry.prefix = header->ifa_prefixlen;
    entry.ifindex = static_cast<int>(header->ifa_index);
    Ipv4Attributes attributes;
    mnl_attr_parse(reply, sizeof *header, parse_ipv4_attr, &attributes);
    // IFA_LOCAL is the interface's own address (it differs from IFA_ADDRESS only on
    // point-to-point links, where IFA_ADDRESS is the peer); prefer it when present.
    const auto address = attributes.values[IFA_LOCAL] ? attributes.values[IFA_LOCAL] : attributes.values[IFA_ADDRESS];
    if (!address) return;
    entry.network = *address;
    out.push_back(entry);
  });
  if (!done) return done.error();
  return out;
}

Result<std::vector<HostPrefix>> Netlink::list_ipv4_routes() {
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_GETROUTE, NLM_F_DUMP);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  std::vector<HostPrefix> out;
  auto done = transact("list routes", [&out](const nlmsghdr* reply) {
    if (reply->nlmsg_type != RTM_NEWROUTE) return;
    const auto* header = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(reply));
    // Local and broadcast routes restate the interface addresses; the default route (/0)
    // overlaps everything and says nothing about which subnets are in use.
    if (header->rtm_family != AF_INET || header->rtm_type != RTN_UNICAST || header->rtm_dst_len == 0) return;
    HostPrefix entry;
    entry.prefix = header->rtm_dst_len;
    entry.is_route = true;
    Ipv4Attributes attributes;
    mnl_attr_parse(reply, sizeof *header, parse_ipv4_attr, &attributes);
    if (!attributes.values[RTA_DST]) return;
    entry.network = *attributes.values[RTA_DST];
    // RTA_OIF carries an ifindex, not an address: undo parse_ipv4_attr's byte swap.
    if (attributes.values[RTA_OIF]) entry.ifindex = static_cast<int>(htonl(*attributes.values[RTA_OIF]));
    out.push_back(entry);
  });
  if (!done) return done.error();
  return out;
}

Result<std::vector<HostRoute6>> Netlink::list_ipv6_routes() {
  nlmsghdr* message = begin(m_buffer, m_seq, RTM_GETROUTE, NLM_F_DUMP);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET6;
  std::vector<HostRoute6> out;
  auto done = transact("list IPv6 routes", [&out](const nlmsghdr* reply) {
    if (reply->nlmsg_type != RTM_NEWROUTE) return;
    const auto* header = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(reply));
    if (header->rtm_family != AF_INET6 || (header->rtm_type != RTN_UNICAST && header->rtm_type != RTN_LOCAL)) return;
    HostRoute6 entry;
    entry.prefix = header->rtm_dst_len;
    entry.protocol = header->rtm_protocol;
    entry.local = header->rtm_type == RTN_LOCAL;
    struct Context {
      HostRoute6* entry;
    } context{&entry};
    mnl_attr_parse(
        reply, sizeof *header,
        [](const nlattr* attr, void* data) -> int {
          auto* route = static_cast<Context*>(data)->entry;
          if (mnl_attr_get_type(attr) == RTA_DST && mnl_attr_get_payload_len(attr) == route->network.size()) {
            std::memcpy(route->network.data(), mnl_attr_get_payload(attr), route->network.size());
          } else if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
            route->ifindex = static_cast<int>(mnl_attr_get_u32(attr));
          }
          return MNL_CB_OK;
        },
        &context);
    out.push_back(entry);  // a default route has no RTA_DST: ::/0
  });
  if (!done) return done.error();
  return out;
}

Result<std::optional<LinkInfo>> Netlink::find_link(const std::string& name) {
  auto links = list_links();
  if (!links) return links.error();
  for (auto& link : links.value()) {
    if (link.name == name) return std::optional<LinkInfo>(std::move(link));
  }
  return std::optional<LinkInfo>();
}

}  // namespace squib::platform
