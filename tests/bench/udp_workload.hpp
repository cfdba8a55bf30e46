#pragma once

// UdpWorkload: the frames of scripts/bench's passt paths (passt-direct, passt-squib) — what a
// guest behind passt sends to reach a UDP echo service on the host: Ethernet + IPv4 + UDP from
// the guest's address to the gateway, which passt maps to the host's loopback (passt(1),
// --no-map-gw turns that off). Before the first datagram the generator asks for the gateway's
// MAC with an ARP request from the guest's address, as a guest does; passt answers it (and
// learns the guest's MAC from it, passt tap.c).
//
// Frame layout (RFC 791, RFC 768): 14 bytes Ethernet, a 20-byte IPv4 header (no options, DF,
// TTL 64, header checksum computed), an 8-byte UDP header (checksum 0: "no checksum", allowed
// for IPv4, RFC 768), then the payload: a 64-bit sequence number at k_udp_seq_offset, filler.
// All parsing is bounds-checked: frames come from a peer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace squib::bench {

using Mac = std::array<std::uint8_t, 6>;

inline constexpr std::size_t k_udp_headers = 14 + 20 + 8;
inline constexpr std::size_t k_udp_seq_offset = k_udp_headers;
inline constexpr std::size_t k_udp_min_frame = k_udp_headers + 8;  // room for the sequence number
inline constexpr std::size_t k_arp_frame = 42;                     // RFC 826 over Ethernet, unpadded

struct UdpWorkload {
  std::array<std::uint8_t, 4> guest_ip{};    // source: the address passt gave the guest
  std::array<std::uint8_t, 4> gateway_ip{};  // destination: passt's gateway, mapped to the host
  std::uint16_t guest_port = 40000;          // the datagrams' source port
  std::uint16_t echo_port = 0;
};

// Parses "GUEST_IP[:GUEST_PORT],GATEWAY_IP:PORT" (e.g. "10.239.0.2:40001,10.239.0.1:7");
// nullopt if malformed. GUEST_PORT defaults to 40000. Generators behind different passt
// instances on one host need different guest ports: passt binds the guest's source port on
// the host (0.0.0.0:GUEST_PORT, to keep it), and the echo's replies to 127.0.0.1:GUEST_PORT
// reach only one of the sockets bound there.
std::optional<UdpWorkload> parse_udp_workload(const std::string& text);

// Writes a whole UDP frame of `frame.size()` bytes (at least k_udp_min_frame, at most
// 14 + 65535) from `src` to `dst`; the payload is filler, the caller stamps the sequence.
void write_udp_frame(std::span<std::uint8_t> frame, const Mac& src, const Mac& dst, const UdpWorkload& w);

// An ARP request "who has gateway_ip? tell guest_ip" from `src`, broadcast.
std::array<std::uint8_t, k_arp_frame> arp_request(const Mac& src, const UdpWorkload& w);

// The sender MAC of an ARP reply for the gateway's address, or nullopt for any other frame.
std::optional<Mac> arp_reply_from_gateway(std::span<const std::uint8_t> frame, const UdpWorkload& w);

// True for an echo: IPv4 UDP from gateway_ip:echo_port to guest_ip:guest_port.
bool is_udp_echo(std::span<const std::uint8_t> frame, const UdpWorkload& w);

}  // namespace squib::bench
