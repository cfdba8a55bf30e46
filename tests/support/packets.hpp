#pragma once

// Raw frames a test sends into a VM's socket, built byte by byte from the RFCs (no packet
// library in the C++ tests), and the checks that read the replies. Network safety: callers
// address only the networks their test made (a namespace, the vmnet fake).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "support/daemon_process.hpp"

namespace squib::test {

using Bytes = std::vector<std::uint8_t>;
using Ipv4 = std::array<std::uint8_t, 4>;
using Mac = std::array<std::uint8_t, 6>;
using Ipv6 = std::array<std::uint8_t, 16>;

inline constexpr Mac k_broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

Mac parse_mac(const std::string& text);    // "02:00:…" (REQUIREs a valid one)
Ipv4 parse_ipv4(const std::string& text);  // dotted quad (REQUIREs a valid one)

void put(Bytes& out, std::initializer_list<std::uint8_t> bytes);
template <std::size_t N>
void put(Bytes& out, const std::array<std::uint8_t, N>& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
void put16(Bytes& out, std::size_t value);  // big-endian
void set16(Bytes& data, std::size_t at, std::uint16_t value);
std::uint16_t be16(const Bytes& f, std::size_t at);
// RFC 1071 Internet checksum of data[begin, end).
std::uint16_t checksum(const Bytes& data, std::size_t begin, std::size_t end);
bool ipv4_at(const Bytes& f, std::size_t at, const Ipv4& address);

Bytes ethernet(const Mac& dst, const Mac& src, unsigned type);
// RFC 826 ARP request: who has `target`? tell `sender_ip` (at `sender_mac`), from `mac`.
Bytes arp_request(const Mac& mac, const Mac& sender_mac, const Ipv4& sender_ip, const Ipv4& target);
// IPv4 header (RFC 791, 20 bytes, correct checksum) + `payload`, in an Ethernet frame.
Bytes ipv4(const Mac& dst_mac, const Mac& src_mac, const Ipv4& src, const Ipv4& dst, std::uint8_t protocol,
           const Bytes& payload);
// ICMP echo request (RFC 792) with identifier `id`, sequence 1, 10 bytes of data.
Bytes icmp_echo(const Mac& dst_mac, const Mac& src_mac, const Ipv4& src, const Ipv4& dst, unsigned id);
// A minimal DHCPDISCOVER (RFC 2131 §4.4.1, RFC 2132 options) from 0.0.0.0:68 to
// 255.255.255.255:67, broadcast flag set so that the OFFER comes back broadcast.
Bytes dhcp_discover(const Mac& mac, std::uint32_t xid);
// The DHCPREQUEST (RFC 2131 §4.3.2, SELECTING) a guest answers an OFFER with: `address`
// requested from the server at `server`, broadcast, from 0.0.0.0.
Bytes dhcp_request(const Mac& mac, std::uint32_t xid, const Ipv4& address, const Ipv4& server);
// A DHCP reply (UDP 67 → 68) whose yiaddr is `address` and whose option 53 is `type`
// (2 OFFER, 5 ACK).
bool is_dhcp_reply(const Bytes& f, const Ipv4& address, std::uint8_t type);

// An ARP reply (RFC 826 op 2) in which `answered` says it is at some MAC, to `asker`.
bool is_arp_reply(const Bytes& f, const Ipv4& answered, const Ipv4& asker);
// An ICMP echo reply (RFC 792 type 0) from `from` to `to` with identifier `id`.
bool is_echo_reply(const Bytes& f, const Ipv4& from, const Ipv4& to, unsigned id);

// A DHCP server message (UDP 67 → 68, BOOTREPLY) from `address`: what a rogue server sends.
Bytes dhcp_offer_from(const Mac& src, const Ipv4& address);

// ---- IPv6 (RFC 8200) ----
inline constexpr Ipv6 k_all_nodes{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
inline constexpr Mac k_all_nodes_mac{0x33, 0x33, 0, 0, 0, 0x01};  // RFC 2464 §7
Ipv6 parse_ipv6(const std::string& text);                         // inet_pton (REQUIREs a valid one)
// fe80::/64 + the MAC's modified EUI-64 (RFC 4291 appendix A): a guest's default link-local.
Ipv6 link_local_of(const Mac& mac);
// IPv6 header (hop limit 255, what ND requires) + `payload` in an Ethernet frame.
Bytes ipv6(const Mac& dst_mac, const Mac& src_mac, const Ipv6& src, const Ipv6& dst, std::uint8_t next,
           const Bytes& payload);
// ICMPv6 message (RFC 4443) `type`, code 0, `body`, with its checksum over the pseudo-header.
Bytes icmpv6(const Mac& dst_mac, const Mac& src_mac, const Ipv6& src, const Ipv6& dst, std::uint8_t type,
             const Bytes& body);
// ICMPv6 echo request (type 128) with identifier `id`, sequence 1.
Bytes icmpv6_echo(const Mac& dst_mac, const Mac& src_mac, const Ipv6& src, const Ipv6& dst, unsigned id);
// RFC 4861 §4.2 router advertisement from `src` to all nodes (lifetime 1800 s, a prefix
// information option for fd66::/64): a rogue router.
Bytes router_advertisement(const Mac& src_mac, const Ipv6& src);
// RFC 4861 §4.4 neighbour advertisement (solicited + override) claiming `target` at
// `src_mac` (target link-layer address option), from `src` to `dst`.
Bytes neighbour_advertisement(const Mac& dst_mac, const Mac& src_mac, const Ipv6& src, const Ipv6& dst,
                              const Ipv6& target);
// A DHCPv6 ADVERTISE (RFC 8415 §8, type 2) from `src`:547 to all nodes :546: a rogue server.
Bytes dhcpv6_advertise(const Mac& src_mac, const Ipv6& src);
bool ipv6_at(const Bytes& f, std::size_t at, const Ipv6& address);
// An ICMPv6 message of `type` (unfragmented, no extension headers) to `to`.
bool is_icmpv6(const Bytes& f, std::uint8_t type, const Ipv6& to);
// A neighbour solicitation (type 135) for `target`.
bool is_neighbour_solicitation(const Bytes& f, const Ipv6& target);

// Whether IPv6 from `src` (one of the guest's own addresses) reaches the host on the VM's
// link: ICMPv6 echo requests to all nodes (ff02::1, id `id`), resent each second, until the
// host's echo reply to `src` comes back, answering the host's neighbour solicitations for
// `src` on the way (so NAs for an own address must pass too). False after `timeout`.
bool ipv6_echo_answered(const FakeVmm& vm, const Mac& mac, const Ipv6& src, unsigned id,
                        std::chrono::milliseconds timeout);

// Reads frames for up to `timeout`; returns the first one `match` accepts.
std::optional<Bytes> receive_matching(const FakeVmm& vm, const std::function<bool(const Bytes&)>& match,
                                      std::chrono::milliseconds timeout);

}  // namespace squib::test
