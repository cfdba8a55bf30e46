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

// Reads frames for up to `timeout`; returns the first one `match` accepts.
std::optional<Bytes> receive_matching(const FakeVmm& vm, const std::function<bool(const Bytes&)>& match,
                                      std::chrono::milliseconds timeout);

}  // namespace squib::test
