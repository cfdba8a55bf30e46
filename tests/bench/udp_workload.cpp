// UdpWorkload: see udp_workload.hpp.

#include "udp_workload.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace squib::bench {
namespace {

void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

// RFC 1071 one's-complement sum over the IPv4 header.
std::uint16_t ipv4_checksum(const std::uint8_t* header, std::size_t length) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < length; i += 2) sum += get16(header + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

bool parse_ipv4(const std::string& text, std::array<std::uint8_t, 4>& out) {
  in_addr addr{};
  if (::inet_pton(AF_INET, text.c_str(), &addr) != 1) return false;
  std::memcpy(out.data(), &addr, 4);
  return true;
}

// "PORT" as 1..65535, or nullopt.
std::optional<std::uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const unsigned long value = std::stoul(text);
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<UdpWorkload> parse_udp_workload(const std::string& text) {
  const auto comma = text.find(',');
  if (comma == std::string::npos) return std::nullopt;
  std::string guest = text.substr(0, comma);
  const std::string gateway = text.substr(comma + 1);
  UdpWorkload w;
  if (const auto colon = guest.find(':'); colon != std::string::npos) {
    const auto port = parse_port(guest.substr(colon + 1));
    if (!port) return std::nullopt;
    w.guest_port = *port;
    guest.resize(colon);
  }
  const auto colon = gateway.find(':');
  if (colon == std::string::npos || !parse_ipv4(guest, w.guest_ip) ||
      !parse_ipv4(gateway.substr(0, colon), w.gateway_ip)) {
    return std::nullopt;
  }
  const auto port = parse_port(gateway.substr(colon + 1));
  if (!port) return std::nullopt;
  w.echo_port = *port;
  return w;
}

void write_udp_frame(std::span<std::uint8_t> frame, const Mac& src, const Mac& dst, const UdpWorkload& w) {
  std::uint8_t* f = frame.data();
  const std::size_t ip_length = frame.size() - 14;
  std::memcpy(f, dst.data(), 6);
  std::memcpy(f + 6, src.data(), 6);
  put16(f + 12, 0x0800);
  std::uint8_t* ip = f + 14;
  ip[0] = 0x45;  // version 4, IHL 5
  ip[1] = 0;
  put16(ip + 2, static_cast<std::uint32_t>(ip_length));
  put16(ip + 4, 0);       // identification: unused with DF
  put16(ip + 6, 0x4000);  // DF, offset 0
  ip[8] = 64;
  ip[9] = 17;  // UDP
  put16(ip + 10, 0);
  std::memcpy(ip + 12, w.guest_ip.data(), 4);
  std::memcpy(ip + 16, w.gateway_ip.data(), 4);
  put16(ip + 10, ipv4_checksum(ip, 20));
  std::uint8_t* udp = ip + 20;
  put16(udp, w.guest_port);
  put16(udp + 2, w.echo_port);
  put16(udp + 4, static_cast<std::uint32_t>(ip_length - 20));
  put16(udp + 6, 0);
  for (std::size_t b = k_udp_headers; b < frame.size(); ++b) f[b] = static_cast<std::uint8_t>(b);
}

std::array<std::uint8_t, k_arp_frame> arp_request(const Mac& src, const UdpWorkload& w) {
  std::array<std::uint8_t, k_arp_frame> f{};
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, src.data(), 6);
  put16(f.data() + 12, 0x0806);
  std::uint8_t* arp = f.data() + 14;
  put16(arp, 1);           // htype Ethernet
  put16(arp + 2, 0x0800);  // ptype IPv4
  arp[4] = 6;              // hlen
  arp[5] = 4;              // plen
  put16(arp + 6, 1);       // request
  std::memcpy(arp + 8, src.data(), 6);
  std::memcpy(arp + 14, w.guest_ip.data(), 4);
  std::memcpy(arp + 24, w.gateway_ip.data(), 4);  // target hardware address: zero
  return f;
}

std::optional<Mac> arp_reply_from_gateway(std::span<const std::uint8_t> frame, const UdpWorkload& w) {
  if (frame.size() < k_arp_frame || get16(frame.data() + 12) != 0x0806) return std::nullopt;
  const std::uint8_t* arp = frame.data() + 14;
  if (get16(arp + 2) != 0x0800 || arp[4] != 6 || arp[5] != 4 || get16(arp + 6) != 2) return std::nullopt;
  if (std::memcmp(arp + 14, w.gateway_ip.data(), 4) != 0) return std::nullopt;
  Mac mac{};
  std::memcpy(mac.data(), arp + 8, 6);
  return mac;
}

bool is_udp_echo(std::span<const std::uint8_t> frame, const UdpWorkload& w) {
  if (frame.size() < k_udp_headers || get16(frame.data() + 12) != 0x0800) return false;
  const std::uint8_t* ip = frame.data() + 14;
  if (ip[0] != 0x45 || ip[9] != 17) return false;  // passt sends no IPv4 options
  if (std::memcmp(ip + 12, w.gateway_ip.data(), 4) != 0 || std::memcmp(ip + 16, w.guest_ip.data(), 4) != 0) {
    return false;
  }
  const std::uint8_t* udp = ip + 20;
  return get16(udp) == w.echo_port && get16(udp + 2) == w.guest_port;
}

}  // namespace squib::bench
