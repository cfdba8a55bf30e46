// Tests of squib/relay/source_guard.hpp with exact, hand-crafted frames: what a guest may
// send (its own MAC; its own IPv4 address or DHCP from 0.0.0.0; ARP naming itself) and what
// is dropped under which reason. Every frame is spelled out byte by byte, so each test shows
// the wire format it relies on (RFC 826 ARP, RFC 791 IPv4, RFC 768 UDP, RFC 2131 DHCP).

#include <squib/relay/source_guard.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "support/catch.hpp"
#include "unit/bytes.hpp"

namespace {

using squib::core::AttachmentStats;
using squib::core::DropReason;
using squib::core::FrameBatch;
using squib::core::MacAddress;
using squib::relay::SourceGuard;
using squib::test::bytes;
using Frame = std::vector<std::byte>;

// The guest: MAC 02:00:00:00:00:0a, address 192.168.105.23 on 192.168.105.0/24.
const MacAddress k_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
constexpr std::uint32_t k_ip = 0xc0a86917;  // 192.168.105.23

// Appends `tail` to `head` (frames are built from a header literal plus a body literal).
Frame operator+(Frame head, const Frame& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// Ethernet header: destination 02:aa:aa:aa:aa:01 (the gateway), source `src_last` as the last
// byte of 02:00:00:00:00:xx (0x0a = the guest), EtherType.
Frame ethernet(unsigned src_last, unsigned type_hi, unsigned type_lo) {
  return bytes({0x02, 0xaa, 0xaa, 0xaa, 0xaa, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, src_last, type_hi, type_lo});
}
Frame broadcast_ethernet(unsigned type_hi, unsigned type_lo) {
  return bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, type_hi, type_lo});
}

// IPv4 header (20 bytes, no options) + ICMP echo request (8 bytes) from a.b.c.d to the gateway
// 192.168.105.1. Checksums are zero: the guard does not check them (the kernel does).
Frame icmp_from(unsigned a, unsigned b, unsigned c, unsigned d) {
  return ethernet(0x0a, 0x08, 0x00) +
         bytes({0x45, 0x00, 0x00, 0x1c,                            // version 4, IHL 5; total length 28
                0x12, 0x34, 0x40, 0x00,                            // id; DF, offset 0
                0x40, 0x01, 0x00, 0x00,                            // TTL 64, protocol 1 (ICMP), checksum
                a,    b,    c,    d,                               // source
                0xc0, 0xa8, 0x69, 0x01,                            // destination 192.168.105.1
                0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01});  // echo request id 1 seq 1
}

// DHCPDISCOVER as udhcpc sends it: 0.0.0.0:68 → 255.255.255.255:67, then the first BOOTP
// bytes (op 1 = BOOTREQUEST, htype 1, hlen 6, hops 0). `flags_hi` is the IPv4 flags byte
// (0x00; 0x20 sets More Fragments), `protocol` the IPv4 protocol (17 = UDP).
Frame dhcp_discover(unsigned flags_hi = 0x00, unsigned protocol = 17, unsigned dst_port_lo = 0x43) {
  return broadcast_ethernet(0x08, 0x00) +
         bytes({0x45, 0x10, 0x01, 0x48,        0x00, 0x00, flags_hi, 0x00, 0x40, protocol, 0x00, 0x00,  //
                0x00, 0x00, 0x00, 0x00,                                     // source 0.0.0.0
                0xff, 0xff, 0xff, 0xff,                                     // destination broadcast
                0x00, 0x44, 0x00, dst_port_lo, 0x01, 0x34, 0x00,     0x00,  // UDP 68 → 67, length, csum
                0x01, 0x01, 0x06, 0x00});
}

// ARP for Ethernet/IPv4 (RFC 826), 28 bytes after the Ethernet header: `op` 1 request or
// 2 reply, sender MAC 02:00:00:00:00:<sha_last>, sender IP `spa`, target IP `tpa`.
Frame arp(unsigned op, unsigned sha_last, std::vector<unsigned> spa, std::vector<unsigned> tpa) {
  return broadcast_ethernet(0x08, 0x06) +
         bytes({0x00, 0x01, 0x08, 0x00, 0x06, 0x04,     0x00,   op,                      // htype, ptype, hlen, plen, op
                0x02, 0x00, 0x00, 0x00, 0x00, sha_last, spa[0], spa[1], spa[2], spa[3],  // sender
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00,     tpa[0], tpa[1], tpa[2], tpa[3]});  // target
}

const std::vector<unsigned> k_own{0xc0, 0xa8, 0x69, 0x17};      // 192.168.105.23
const std::vector<unsigned> k_gateway{0xc0, 0xa8, 0x69, 0x01};  // 192.168.105.1
const std::vector<unsigned> k_other{0xc0, 0xa8, 0x69, 0x63};    // 192.168.105.99
const std::vector<unsigned> k_zero{0x00, 0x00, 0x00, 0x00};

Frame truncated(Frame frame, std::size_t size) {
  frame.resize(size);
  return frame;
}

const SourceGuard k_mac_only{k_mac};
const SourceGuard k_with_ip{k_mac, k_ip};

}  // namespace

TEST_CASE("SourceGuard: the Ethernet source MAC must be the attachment's", "[relay][source_guard]") {
  for (const auto* guard : {&k_mac_only, &k_with_ip}) {
    CHECK(guard->check(ethernet(0x0a, 0x88, 0xb5) + bytes({0x00, 0x01})) == std::nullopt);
    CHECK(guard->check(ethernet(0x0b, 0x88, 0xb5) + bytes({0x00, 0x01})) == DropReason::spoofed_mac);
    CHECK(guard->check(ethernet(0x0b, 0x08, 0x00)) == DropReason::spoofed_mac);  // MAC is checked first
    CHECK(guard->check(truncated(ethernet(0x0a, 0x88, 0xb5), 13)) == DropReason::runt);
    CHECK(guard->check(Frame{}) == DropReason::runt);
    CHECK(guard->check(ethernet(0x0a, 0x88, 0xb5)) == std::nullopt);  // a bare header
  }
}

TEST_CASE("SourceGuard: IPv4 must come from the guest's address once it is known", "[relay][source_guard]") {
  SECTION("from its own address") { CHECK(k_with_ip.check(icmp_from(192, 168, 105, 23)) == std::nullopt); }
  SECTION("from another address in the subnet, the gateway's, or outside it") {
    CHECK(k_with_ip.check(icmp_from(192, 168, 105, 99)) == DropReason::spoofed_ip);
    CHECK(k_with_ip.check(icmp_from(192, 168, 105, 1)) == DropReason::spoofed_ip);
    CHECK(k_with_ip.check(icmp_from(10, 0, 0, 23)) == DropReason::spoofed_ip);
    CHECK(k_with_ip.check(icmp_from(255, 255, 255, 255)) == DropReason::spoofed_ip);
  }
  SECTION("with no address known (bridged, userspace) any source passes") {
    CHECK(k_mac_only.check(icmp_from(192, 168, 105, 99)) == std::nullopt);
    CHECK(k_mac_only.check(icmp_from(0, 0, 0, 0)) == std::nullopt);
  }
  SECTION("set_ipv4 turns the check on and off") {
    SourceGuard guard{k_mac};
    CHECK(guard.check(icmp_from(192, 168, 105, 99)) == std::nullopt);
    guard.set_ipv4(k_ip);
    CHECK(guard.ipv4() == k_ip);
    CHECK(guard.check(icmp_from(192, 168, 105, 99)) == DropReason::spoofed_ip);
    CHECK(guard.check(icmp_from(192, 168, 105, 23)) == std::nullopt);
    guard.set_ipv4(std::nullopt);
    CHECK(guard.check(icmp_from(192, 168, 105, 99)) == std::nullopt);
  }
}

TEST_CASE("SourceGuard: 0.0.0.0 is allowed for DHCP client messages only", "[relay][source_guard]") {
  SECTION("DISCOVER/REQUEST: UDP 68 → 67 from 0.0.0.0") {
    // DISCOVER and REQUEST differ only inside the BOOTP options, which the guard does not read.
    CHECK(k_with_ip.check(dhcp_discover()) == std::nullopt);
  }
  SECTION("the same header with options (IHL 6): the UDP ports are found after them") {
    auto frame = broadcast_ethernet(0x08, 0x00) +
                 bytes({0x46, 0x00, 0x01, 0x4c, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,  //
                        0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,                          //
                        0x94, 0x04, 0x00, 0x00,  // Router Alert option (RFC 2113)
                        0x00, 0x44, 0x00, 0x43, 0x01, 0x34, 0x00, 0x00});
    CHECK(k_with_ip.check(frame) == std::nullopt);
    frame[14 + 24 + 3] = std::byte{0x35};  // destination port 53: not DHCP
    CHECK(k_with_ip.check(frame) == DropReason::spoofed_ip);
  }
  SECTION("anything else from 0.0.0.0 is dropped") {
    CHECK(k_with_ip.check(dhcp_discover(0x00, 17, 0x35)) == DropReason::spoofed_ip);  // UDP to port 53
    CHECK(k_with_ip.check(dhcp_discover(0x00, 6)) == DropReason::spoofed_ip);         // TCP
    CHECK(k_with_ip.check(dhcp_discover(0x20)) == DropReason::spoofed_ip);            // a first fragment
    CHECK(k_with_ip.check(icmp_from(0, 0, 0, 0)) == DropReason::spoofed_ip);
  }
  SECTION("a DHCP header cut before the UDP ports cannot be verified") {
    CHECK(k_with_ip.check(truncated(dhcp_discover(), 14 + 20)) == DropReason::spoofed_ip);
    CHECK(k_with_ip.check(truncated(dhcp_discover(), 14 + 20 + 3)) == DropReason::spoofed_ip);
    CHECK(k_with_ip.check(truncated(dhcp_discover(), 14 + 20 + 4)) == std::nullopt);
  }
}

TEST_CASE("SourceGuard: a truncated or malformed IPv4 header is dropped when the address is known",
          "[relay][source_guard]") {
  const auto good = icmp_from(192, 168, 105, 23);
  SECTION("cut anywhere inside the 20-byte header") {
    for (std::size_t size = 14; size < 14 + 20; ++size) {
      INFO("frame of " << size << " bytes");
      CHECK(k_with_ip.check(truncated(good, size)) == DropReason::spoofed_ip);
    }
    CHECK(k_with_ip.check(truncated(good, 14 + 20)) == std::nullopt);  // header complete, no payload
  }
  SECTION("IHL says there are options the frame does not hold") {
    auto frame = truncated(good, 14 + 20);
    frame[14] = std::byte{0x46};  // IHL 6 = 24 bytes
    CHECK(k_with_ip.check(frame) == DropReason::spoofed_ip);
    frame[14] = std::byte{0x4f};  // IHL 15 = 60 bytes
    CHECK(k_with_ip.check(frame) == DropReason::spoofed_ip);
  }
  SECTION("IHL below 5 or a version other than 4") {
    auto frame = good;
    frame[14] = std::byte{0x44};
    CHECK(k_with_ip.check(frame) == DropReason::spoofed_ip);
    frame[14] = std::byte{0x65};  // an IPv6 version nibble under EtherType 0x0800
    CHECK(k_with_ip.check(frame) == DropReason::spoofed_ip);
  }
  SECTION("without an address, IPv4 is not parsed at all") {
    CHECK(k_mac_only.check(truncated(good, 20)) == std::nullopt);
  }
}

TEST_CASE("SourceGuard: ARP must name the guest as its sender", "[relay][source_guard]") {
  SECTION("request and reply from the guest's MAC and address") {
    CHECK(k_with_ip.check(arp(1, 0x0a, k_own, k_gateway)) == std::nullopt);
    CHECK(k_with_ip.check(arp(2, 0x0a, k_own, k_gateway)) == std::nullopt);
  }
  SECTION("gratuitous ARP (sender = target = own address) and an RFC 5227 probe (sender 0.0.0.0)") {
    CHECK(k_with_ip.check(arp(1, 0x0a, k_own, k_own)) == std::nullopt);
    CHECK(k_with_ip.check(arp(1, 0x0a, k_zero, k_own)) == std::nullopt);
  }
  SECTION("another sender address: request, and a reply claiming the gateway (cache poisoning)") {
    CHECK(k_with_ip.check(arp(1, 0x0a, k_other, k_gateway)) == DropReason::spoofed_ip);
    CHECK(k_with_ip.check(arp(2, 0x0a, k_gateway, k_other)) == DropReason::spoofed_ip);
    CHECK(k_mac_only.check(arp(2, 0x0a, k_gateway, k_other)) == std::nullopt);  // address unknown
  }
  SECTION("another sender MAC inside ARP is spoofed_mac, with or without an address") {
    CHECK(k_with_ip.check(arp(2, 0x0b, k_own, k_gateway)) == DropReason::spoofed_mac);
    CHECK(k_mac_only.check(arp(2, 0x0b, k_own, k_gateway)) == DropReason::spoofed_mac);
  }
  SECTION("padded to the 60-byte Ethernet minimum") {
    auto frame = arp(1, 0x0a, k_own, k_gateway);
    frame.resize(60);
    CHECK(k_with_ip.check(frame) == std::nullopt);
  }
  SECTION("an ARP that cannot be read to its sender address is dropped as spoofed_mac") {
    const auto good = arp(1, 0x0a, k_own, k_gateway);
    for (std::size_t size = 14; size < 14 + 18; ++size) {
      INFO("frame of " << size << " bytes");
      CHECK(k_mac_only.check(truncated(good, size)) == DropReason::spoofed_mac);
      CHECK(k_with_ip.check(truncated(good, size)) == DropReason::spoofed_mac);
    }
    CHECK(k_with_ip.check(truncated(good, 14 + 18)) == std::nullopt);  // the target fields are not needed
  }
  SECTION("ARP that is not Ethernet/IPv4 (other ptype, hlen or plen)") {
    auto frame = arp(1, 0x0a, k_own, k_gateway);
    frame[16] = std::byte{0x86};  // ptype 0x86dd
    CHECK(k_mac_only.check(frame) == DropReason::spoofed_mac);
    frame = arp(1, 0x0a, k_own, k_gateway);
    frame[18] = std::byte{0x08};  // hlen 8: the sender fields are elsewhere
    CHECK(k_with_ip.check(frame) == DropReason::spoofed_mac);
  }
}

TEST_CASE("SourceGuard: VLAN-tagged frames are dropped when the address is known", "[relay][source_guard]") {
  // 802.1Q tag (TPID 0x8100, VID 5), then the guest's own ICMP: a tag would carry IPv4/ARP
  // past the checks to the bridge's other ports, and daemon-owned networks are untagged.
  const auto inner = icmp_from(192, 168, 105, 23);
  const auto tagged = [&](unsigned tpid_hi, unsigned tpid_lo) {
    return ethernet(0x0a, tpid_hi, tpid_lo) + bytes({0x00, 0x05, 0x08, 0x00}) + Frame(inner.begin() + 14, inner.end());
  };
  CHECK(k_with_ip.check(tagged(0x81, 0x00)) == DropReason::spoofed_ip);
  CHECK(k_with_ip.check(tagged(0x88, 0xa8)) == DropReason::spoofed_ip);  // 802.1ad
  CHECK(k_with_ip.check(tagged(0x91, 0x00)) == DropReason::spoofed_ip);  // pre-standard QinQ
  CHECK(k_with_ip.check(truncated(tagged(0x81, 0x00), 14)) == DropReason::spoofed_ip);
  // No address known (bridged onto a user's bridge that may carry VLANs): the MAC is checked only.
  CHECK(k_mac_only.check(tagged(0x81, 0x00)) == std::nullopt);
}

TEST_CASE("SourceGuard: other EtherTypes pass the IP checks", "[relay][source_guard]") {
  CHECK(k_with_ip.check(ethernet(0x0a, 0x88, 0xcc)) == std::nullopt);  // LLDP
  CHECK(k_with_ip.check(ethernet(0x0b, 0x88, 0xcc)) == DropReason::spoofed_mac);
}

TEST_CASE("SourceGuard::filter keeps passing frames in order and counts the rest", "[relay][source_guard]") {
  const std::vector<Frame> frames = {
      icmp_from(192, 168, 105, 23),        // pass
      icmp_from(192, 168, 105, 99),        // spoofed_ip
      ethernet(0x0b, 0x88, 0xb5),          // spoofed_mac
      dhcp_discover(),                     // pass
      arp(2, 0x0a, k_gateway, k_other),    // spoofed_ip
      arp(1, 0x0a, k_own, k_gateway),      // pass
      truncated(ethernet(0x0a, 0, 0), 6),  // runt
  };
  FrameBatch in;
  for (const auto& frame : frames) in.push(frame);
  FrameBatch out;
  AttachmentStats stats;
  k_with_ip.filter(in, out, stats);
  REQUIRE(out.count == 3);
  CHECK(out.frames[0].data() == frames[0].data());
  CHECK(out.frames[1].data() == frames[3].data());
  CHECK(out.frames[2].data() == frames[5].data());
  CHECK(stats.dropped(DropReason::spoofed_ip) == 2);
  CHECK(stats.dropped(DropReason::spoofed_mac) == 1);
  CHECK(stats.dropped(DropReason::runt) == 1);
  CHECK(stats.total_drops() == 4);

  SECTION("a full batch of valid frames passes whole") {
    const auto good = icmp_from(192, 168, 105, 23);
    FrameBatch full;
    while (!full.full()) full.push(good);
    FrameBatch passed;
    AttachmentStats none;
    k_with_ip.filter(full, passed, none);
    CHECK(passed.count == squib::core::k_batch_size);
    CHECK(none.total_drops() == 0);
  }
}
