#include "support/packets.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "support/catch.hpp"

namespace squib::test {

using namespace std::chrono_literals;

Mac parse_mac(const std::string& text) {
  unsigned b[6] = {};
  REQUIRE(std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) == 6);
  return {static_cast<std::uint8_t>(b[0]), static_cast<std::uint8_t>(b[1]), static_cast<std::uint8_t>(b[2]),
          static_cast<std::uint8_t>(b[3]), static_cast<std::uint8_t>(b[4]), static_cast<std::uint8_t>(b[5])};
}

Ipv4 parse_ipv4(const std::string& text) {
  unsigned b[4] = {};
  REQUIRE(std::sscanf(text.c_str(), "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]) == 4);
  return {static_cast<std::uint8_t>(b[0]), static_cast<std::uint8_t>(b[1]), static_cast<std::uint8_t>(b[2]),
          static_cast<std::uint8_t>(b[3])};
}

void put(Bytes& out, std::initializer_list<std::uint8_t> bytes) { out.insert(out.end(), bytes); }
void put16(Bytes& out, std::size_t value) {
  put(out, {static_cast<std::uint8_t>(value >> 8U), static_cast<std::uint8_t>(value)});
}

// RFC 1071 Internet checksum of out[begin, end).
std::uint16_t checksum(const Bytes& data, std::size_t begin, std::size_t end) {
  std::uint32_t sum = 0;
  for (std::size_t i = begin; i < end; i += 2) {
    sum += static_cast<std::uint32_t>(data[i] << 8U) + (i + 1 < end ? data[i + 1] : 0U);
  }
  while ((sum >> 16U) != 0) sum = (sum & 0xffffU) + (sum >> 16U);
  return static_cast<std::uint16_t>(~sum);
}
void set16(Bytes& data, std::size_t at, std::uint16_t value) {
  data[at] = static_cast<std::uint8_t>(value >> 8U);
  data[at + 1] = static_cast<std::uint8_t>(value);
}

Bytes ethernet(const Mac& dst, const Mac& src, unsigned type) {
  Bytes out;
  put(out, dst);
  put(out, src);
  put16(out, type);
  return out;
}

// RFC 826 ARP request: who has `target`? tell `sender_ip` (at `sender_mac`).
Bytes arp_request(const Mac& mac, const Mac& sender_mac, const Ipv4& sender_ip, const Ipv4& target) {
  auto out = ethernet(k_broadcast, mac, 0x0806);
  put(out, {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01});
  put(out, sender_mac);
  put(out, sender_ip);
  put(out, {0, 0, 0, 0, 0, 0});
  put(out, target);
  return out;
}

// IPv4 header (RFC 791, 20 bytes, correct checksum) + `payload`, in an Ethernet frame.
Bytes ipv4(const Mac& dst_mac, const Mac& src_mac, const Ipv4& src, const Ipv4& dst, std::uint8_t protocol,
           const Bytes& payload) {
  auto out = ethernet(dst_mac, src_mac, 0x0800);
  put(out, {0x45, 0x00});
  put16(out, 20 + payload.size());
  put(out, {0x00, 0x01, 0x00, 0x00, 64, protocol, 0x00, 0x00});
  put(out, src);
  put(out, dst);
  set16(out, 14 + 10, checksum(out, 14, 34));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// ICMP echo request (RFC 792) with identifier `id`, sequence 1, 8 bytes of data.
Bytes icmp_echo(const Mac& dst_mac, const Mac& src_mac, const Ipv4& src, const Ipv4& dst, unsigned id) {
  Bytes icmp = {8, 0, 0, 0};
  put16(icmp, id);
  put(icmp, {0x00, 0x01, 's', 'q', 'u', 'i', 'b', '-', 'g', 'd'});
  set16(icmp, 2, checksum(icmp, 0, icmp.size()));
  return ipv4(dst_mac, src_mac, src, dst, 1, icmp);
}

namespace {

// A DHCP client message (RFC 2131 §4.1, broadcast flag set so that replies come back
// broadcast) from 0.0.0.0:68 to 255.255.255.255:67 with `options` after the magic cookie
// (the caller ends them with 255).
Bytes dhcp_client_message(const Mac& mac, std::uint32_t xid, const Bytes& options) {
  Bytes bootp = {1, 1, 6, 0};
  put(bootp, {static_cast<std::uint8_t>(xid >> 24U), static_cast<std::uint8_t>(xid >> 16U),
              static_cast<std::uint8_t>(xid >> 8U), static_cast<std::uint8_t>(xid)});
  put(bootp, {0, 0, 0x80, 0x00});      // secs, flags: broadcast
  bootp.resize(bootp.size() + 16, 0);  // ciaddr, yiaddr, siaddr, giaddr
  put(bootp, mac);
  bootp.resize(bootp.size() + 10 + 64 + 128, 0);  // chaddr padding, sname, file
  put(bootp, {99, 130, 83, 99});                  // magic cookie
  bootp.insert(bootp.end(), options.begin(), options.end());
  Bytes udp = {0, 68, 0, 67};
  put16(udp, 8 + bootp.size());
  put(udp, {0, 0});  // no UDP checksum (allowed over IPv4, RFC 768)
  udp.insert(udp.end(), bootp.begin(), bootp.end());
  return ipv4(k_broadcast, mac, {0, 0, 0, 0}, {255, 255, 255, 255}, 17, udp);
}

}  // namespace

Bytes dhcp_discover(const Mac& mac, std::uint32_t xid) {
  return dhcp_client_message(mac, xid, {53, 1, 1, 255});  // option 53 = DISCOVER
}

Bytes dhcp_request(const Mac& mac, std::uint32_t xid, const Ipv4& address, const Ipv4& server) {
  Bytes options = {53, 1, 3, 50, 4};  // option 53 = REQUEST; 50 = requested address
  put(options, address);
  put(options, {54, 4});  // server identifier
  put(options, server);
  put(options, {255});
  return dhcp_client_message(mac, xid, options);
}

bool is_dhcp_reply(const Bytes& f, const Ipv4& address, std::uint8_t type) {
  if (f.size() < 14 + 20 + 8 + 240 || be16(f, 12) != 0x0800 || f[23] != 17 || be16(f, 34) != 67) return false;
  const std::size_t bootp = 14 + 20 + 8;
  if (!ipv4_at(f, bootp + 16, address)) return false;
  for (std::size_t at = bootp + 240; at + 2 < f.size() && f[at] != 255; at += 2U + f[at + 1]) {
    if (f[at] == 53) return f[at + 2] == type;
  }
  return false;
}

Bytes dhcp_offer_from(const Mac& src, const Ipv4& address) {
  Bytes udp;
  put16(udp, 67);
  put16(udp, 68);
  put16(udp, 8 + 240);
  put16(udp, 0);  // no UDP checksum (RFC 768: optional for IPv4)
  udp.resize(8 + 240, 0);
  udp[8] = 2;  // BOOTREPLY
  return ipv4(k_broadcast, src, address, {255, 255, 255, 255}, 17, udp);
}

Ipv6 parse_ipv6(const std::string& text) {
  Ipv6 out{};
  REQUIRE(::inet_pton(AF_INET6, text.c_str(), out.data()) == 1);
  return out;
}

Ipv6 link_local_of(const Mac& mac) {
  return {0xfe,   0x80,   0,    0,    0,      0,      0,     0, static_cast<std::uint8_t>(mac[0] ^ 0x02U),
          mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
}

Bytes ipv6(const Mac& dst_mac, const Mac& src_mac, const Ipv6& src, const Ipv6& dst, std::uint8_t next,
           const Bytes& payload) {
  auto out = ethernet(dst_mac, src_mac, 0x86dd);
  put(out, {0x60, 0, 0, 0});
  put16(out, payload.size());
  put(out, {next, 255});
  put(out, src);
  put(out, dst);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

namespace {

// RFC 8200 §8.1: the upper-layer checksum covers source, destination, length and next header.
std::uint16_t ipv6_checksum(const Ipv6& src, const Ipv6& dst, std::uint8_t next, const Bytes& upper) {
  Bytes pseudo;
  put(pseudo, src);
  put(pseudo, dst);
  put(pseudo, {0, 0});
  put16(pseudo, upper.size());
  put(pseudo, {0, 0, 0, next});
  pseudo.insert(pseudo.end(), upper.begin(), upper.end());
  return checksum(pseudo, 0, pseudo.size());
}

}  // namespace

Bytes icmpv6(const Mac& dst_mac, const Mac& src_mac, const Ipv6& src, const Ipv6& dst, std::uint8_t type,
             const Bytes& body) {
  Bytes message = {type, 0, 0, 0};
  message.insert(message.end(), body.begin(), body.end());
  set16(message, 2, ipv6_checksum(src, dst, 58, message));
  return ipv6(dst_mac, src_mac, src, dst, 58, message);
}

Bytes icmpv6_echo(const Mac& dst_mac, const Mac& src_mac, const Ipv6& src, const Ipv6& dst, unsigned id) {
  Bytes body;
  put16(body, id);
  put(body, {0x00, 0x01, 's', 'q', 'u', 'i', 'b', '-', 'g', '6'});
  return icmpv6(dst_mac, src_mac, src, dst, 128, body);
}

Bytes router_advertisement(const Mac& src_mac, const Ipv6& src) {
  Bytes body = {64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0};  // hop limit, flags, lifetime, timers
  put(body, {3, 4, 64, 0xc0, 0x00, 0x27, 0x8d, 0x00, 0x00, 0x09, 0x3a, 0x80, 0, 0, 0, 0});  // prefix info
  put(body, {0xfd, 0x66, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  return icmpv6(k_all_nodes_mac, src_mac, src, k_all_nodes, 134, body);
}

Bytes neighbour_advertisement(const Mac& dst_mac, const Mac& src_mac, const Ipv6& src, const Ipv6& dst,
                              const Ipv6& target) {
  Bytes body = {0x60, 0, 0, 0};  // solicited, override
  put(body, target);
  put(body, {2, 1});  // target link-layer address option, 8 bytes
  put(body, src_mac);
  return icmpv6(dst_mac, src_mac, src, dst, 136, body);
}

Bytes dhcpv6_advertise(const Mac& src_mac, const Ipv6& src) {
  Bytes udp;
  put16(udp, 547);
  put16(udp, 546);
  put16(udp, 8 + 4);
  put16(udp, 0);
  put(udp, {2, 0x12, 0x34, 0x56});  // ADVERTISE, transaction id
  set16(udp, 6, ipv6_checksum(src, k_all_nodes, 17, udp));
  return ipv6(k_all_nodes_mac, src_mac, src, k_all_nodes, 17, udp);
}

bool ipv6_at(const Bytes& f, std::size_t at, const Ipv6& address) {
  return f.size() >= at + 16 && std::memcmp(f.data() + at, address.data(), 16) == 0;
}

bool is_icmpv6(const Bytes& f, std::uint8_t type, const Ipv6& to) {
  return f.size() >= 14 + 40 + 4 && be16(f, 12) == 0x86dd && f[14 + 6] == 58 && ipv6_at(f, 14 + 24, to) &&
         f[14 + 40] == type;
}

bool is_neighbour_solicitation(const Bytes& f, const Ipv6& target) {
  return f.size() >= 14 + 40 + 24 && be16(f, 12) == 0x86dd && f[14 + 6] == 58 && f[14 + 40] == 135 &&
         ipv6_at(f, 14 + 40 + 8, target);
}

std::uint16_t be16(const Bytes& f, std::size_t at) { return static_cast<std::uint16_t>((f[at] << 8U) | f[at + 1]); }
bool ipv4_at(const Bytes& f, std::size_t at, const Ipv4& address) {
  return f.size() >= at + 4 && std::memcmp(f.data() + at, address.data(), 4) == 0;
}

// Reads frames for up to `timeout`; returns the first one `match` accepts.
std::optional<Bytes> receive_matching(const FakeVmm& vm, const std::function<bool(const Bytes&)>& match,
                                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return std::nullopt;
    auto frame = vm.receive(left);
    if (!frame) return std::nullopt;
    if (match(*frame)) return frame;
  }
}

bool ipv6_echo_answered(const FakeVmm& vm, const Mac& mac, const Ipv6& src, unsigned id,
                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    vm.send(icmpv6_echo(k_all_nodes_mac, mac, src, k_all_nodes, id));
    const auto answered = receive_matching(
        vm,
        [&](const Bytes& f) {
          if (is_neighbour_solicitation(f, src)) {  // answer it, from and for the own address
            const Mac asker{f[6], f[7], f[8], f[9], f[10], f[11]};
            Ipv6 asker_ip{};
            std::memcpy(asker_ip.data(), f.data() + 14 + 8, asker_ip.size());
            vm.send(neighbour_advertisement(asker, mac, src, asker_ip, src));
            return false;
          }
          return is_icmpv6(f, 129, src) && be16(f, 14 + 40 + 4) == id;
        },
        1s);
    if (answered) return true;
  }
  return false;
}

bool is_arp_reply(const Bytes& f, const Ipv4& answered, const Ipv4& asker) {
  return f.size() >= 42 && be16(f, 12) == 0x0806 && be16(f, 20) == 2 && ipv4_at(f, 28, answered) &&
         ipv4_at(f, 38, asker);
}

bool is_echo_reply(const Bytes& f, const Ipv4& from, const Ipv4& to, unsigned id) {
  return f.size() >= 42 && be16(f, 12) == 0x0800 && f[14 + 9] == 1 && ipv4_at(f, 26, from) && ipv4_at(f, 30, to) &&
         f[34] == 0 && be16(f, 38) == id;
}

}  // namespace squib::test
