// Tests of squib/relay/source_guard.hpp for IPv6 (RFC 8200) and the rogue-server rules, with
// exact frames spelled out byte by byte: what a guest on a host/shared network may send (its
// link-local or network address; :: only for DAD, RS and MLD reports; NAs for its own
// addresses) and what is dropped under which reason (router advertisements, DHCP/DHCPv6
// server messages, spoofed sources and NA targets, header chains that cannot be read).
// Checksums are zero: the guard does not read them (the receivers' kernels do).

#include <squib/relay/source_guard.hpp>

#include <cstdint>
#include <optional>
#include <vector>

#include "support/catch.hpp"
#include "unit/bytes.hpp"

namespace {

using squib::core::DropReason;
using squib::core::MacAddress;
using squib::relay::GuardLevel;
using squib::relay::SourceGuard;
using squib::test::bytes;
using Frame = std::vector<std::byte>;
using Address = std::vector<unsigned>;

// The guest: MAC 02:00:00:00:00:0a, 192.168.105.23, network fd12:3456:789a::/64.
const MacAddress k_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
constexpr std::uint32_t k_ip = 0xc0a86917;
// fe80::ff:fe00:a: the modified EUI-64 of 02:00:00:00:00:0a (the U/L bit flipped: 02 → 00).
const Address k_link_local{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x0a};
// fd12:3456:789a::ff:fe00:a, its SLAAC address (start's network.address6).
const Address k_address6{0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x0a};
// Another guest's (02:00:00:00:00:0b) link-local and SLAAC addresses, and the gateway's.
const Address k_other_link_local{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x0b};
const Address k_other_address6{0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0,    0,
                               0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x0b};
const Address k_gateway6{0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const Address k_unspecified(16, 0);
const Address k_all_nodes{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const Address k_all_routers{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
const Address k_all_mldv2_routers{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};
// ff02::1:ff00:a, the solicited-node multicast address of both of the guest's addresses.
const Address k_solicited_node{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x00, 0x0a};

Frame operator+(Frame head, const Frame& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}
Frame address(const Address& a) {
  Frame out;
  for (const unsigned byte : a) out.push_back(static_cast<std::byte>(byte));
  return out;
}

// Ethernet header from the guest (source 02:00:00:00:00:0a) to 33:33:00:00:00:01, EtherType `type`.
Frame ethernet(unsigned type_hi = 0x86, unsigned type_lo = 0xdd) {
  return bytes({0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, type_hi, type_lo});
}

// RFC 8200 §3 fixed header: version 6, traffic class/flow 0, payload length, next header,
// hop limit 255 (what ND requires), source, destination; then `payload`.
Frame ipv6(const Address& src, const Address& dst, unsigned next, const Frame& payload) {
  const auto length = payload.size();
  return ethernet() + bytes({0x60, 0x00, 0x00, 0x00, unsigned(length >> 8U), unsigned(length & 0xffU), next, 0xff}) +
         address(src) + address(dst) + payload;
}

// ICMPv6 (RFC 4443 §2.1): type, code 0, checksum 0, then `body`.
Frame icmpv6(unsigned type, const Frame& body) { return bytes({type, 0x00, 0x00, 0x00}) + body; }
Frame echo_request() { return icmpv6(128, bytes({0x00, 0x01, 0x00, 0x01, 'p', 'i', 'n', 'g'})); }
// RFC 4861 §4.4 neighbour advertisement: flags (S|O), reserved, target; §4.3 solicitation:
// reserved, target.
Frame neighbour_advert(const Address& target) { return icmpv6(136, bytes({0x60, 0x00, 0x00, 0x00}) + address(target)); }
Frame neighbour_solicit(const Address& target) {
  return icmpv6(135, bytes({0x00, 0x00, 0x00, 0x00}) + address(target));
}
// RFC 4861 §4.2 router advertisement: hop limit 64, M/O 0, router lifetime 1800, reachable
// time 0, retrans timer 0, then a prefix information option (type 3, length 4) for fd66::/64.
Frame router_advert() {
  return icmpv6(134, bytes({0x40, 0x00, 0x07, 0x08, 0,    0,    0,    0,    0,    0,    0,    0,  //
                            0x03, 0x04, 0x40, 0xc0, 0x00, 0x27, 0x8d, 0x00, 0x00, 0x09, 0x3a, 0x80, 0, 0, 0, 0,
                            0xfd, 0x66, 0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0}));
}
Frame router_solicit() { return icmpv6(133, bytes({0, 0, 0, 0})); }
// RFC 3810 §5.2 MLDv2 report with no records (reserved, count 0).
Frame mld2_report() { return icmpv6(143, bytes({0, 0, 0, 0})); }
// RFC 768 UDP header with `src` → `dst` ports, length, checksum 0, then 4 bytes of data.
Frame udp(unsigned src, unsigned dst) {
  return bytes({src >> 8U, src & 0xffU, dst >> 8U, dst & 0xffU, 0x00, 0x0c, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01});
}
// DHCPv6 (RFC 8415 §8): a server's ADVERTISE (type 2) to a client, 547 → 546; a client's SOLICIT
// (type 1) 546 → 547.
Frame dhcpv6_advertise() { return udp(547, 546); }
Frame dhcpv6_solicit() { return udp(546, 547); }

// Extension headers (RFC 8200 §4): hop-by-hop with a Router Alert option (RFC 2711, MLD's),
// destination options of `units` 8-byte units of PadN, a fragment header.
Frame hop_by_hop(unsigned next) { return bytes({next, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00}); }
Frame destination_options(unsigned next, unsigned units = 1) {
  Frame header = bytes({next, units - 1, 0x01, units * 8 - 4});
  header.resize(units * 8);
  return header;
}
Frame fragment(unsigned next, unsigned offset_units, bool more) {
  const unsigned field = (offset_units << 3U) | (more ? 1U : 0U);
  return bytes({next, 0x00, field >> 8U, field & 0xffU, 0x12, 0x34, 0x56, 0x78});
}

Frame truncated(Frame frame, std::size_t size) {
  frame.resize(size);
  return frame;
}

SourceGuard guard(GuardLevel level = GuardLevel::full, bool with_address6 = true) {
  SourceGuard out{k_mac, k_ip};
  if (with_address6) {
    squib::core::Ipv6Address a6{};
    for (std::size_t i = 0; i < a6.size(); ++i) a6[i] = static_cast<std::uint8_t>(k_address6[i]);
    out.set_ipv6(a6);
  }
  out.set_level(level);
  return out;
}

const SourceGuard k_full = guard();
const SourceGuard k_link_local_only = guard(GuardLevel::full, false);
const SourceGuard k_mac_level = guard(GuardLevel::mac);
const SourceGuard k_unmanaged{k_mac};  // bridged/userspace: no address known

}  // namespace

TEST_CASE("SourceGuard IPv6: the guest's link-local and network addresses pass", "[relay][source_guard][ipv6]") {
  CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 58, echo_request())) == std::nullopt);
  CHECK(k_full.check(ipv6(k_address6, k_gateway6, 58, echo_request())) == std::nullopt);
  CHECK(k_full.check(ipv6(k_address6, k_gateway6, 17, udp(40000, 53))) == std::nullopt);
  CHECK(k_full.check(ipv6(k_link_local, k_all_routers, 58, router_solicit())) == std::nullopt);
  CHECK(k_full.check(ipv6(k_link_local, k_solicited_node, 58, neighbour_solicit(k_gateway6))) == std::nullopt);
  CHECK(k_full.check(ipv6(k_address6, k_all_nodes, 58, neighbour_advert(k_address6))) == std::nullopt);
  CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 58, neighbour_advert(k_link_local))) == std::nullopt);
  CHECK(k_full.check(ipv6(k_link_local, k_all_routers, 17, dhcpv6_solicit())) == std::nullopt);
  CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 59, Frame{})) == std::nullopt);  // no next header
  SECTION("before address6 is known only the link-local address is the guest's") {
    CHECK(k_link_local_only.check(ipv6(k_link_local, k_all_nodes, 58, echo_request())) == std::nullopt);
    CHECK(k_link_local_only.check(ipv6(k_address6, k_gateway6, 58, echo_request())) == DropReason::spoofed_ip);
  }
}

TEST_CASE("SourceGuard IPv6: any other source is spoofed_ip", "[relay][source_guard][ipv6]") {
  for (const auto& source : {k_other_link_local, k_other_address6, k_gateway6, k_all_nodes}) {
    CHECK(k_full.check(ipv6(source, k_gateway6, 58, echo_request())) == DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(source, k_gateway6, 6, Frame(20))) == DropReason::spoofed_ip);
  }
  SECTION("level mac and unmanaged networks do not check IPv6 sources") {
    CHECK(k_mac_level.check(ipv6(k_other_address6, k_gateway6, 58, echo_request())) == std::nullopt);
    CHECK(k_unmanaged.check(ipv6(k_other_address6, k_gateway6, 58, echo_request())) == std::nullopt);
  }
}

TEST_CASE("SourceGuard IPv6: :: only for DAD, router solicitations and MLD reports", "[relay][source_guard][ipv6]") {
  SECTION("allowed: DAD of an own address, RS, MLDv2 report (with its hop-by-hop Router Alert)") {
    CHECK(k_full.check(ipv6(k_unspecified, k_solicited_node, 58, neighbour_solicit(k_link_local))) == std::nullopt);
    CHECK(k_full.check(ipv6(k_unspecified, k_solicited_node, 58, neighbour_solicit(k_address6))) == std::nullopt);
    CHECK(k_full.check(ipv6(k_unspecified, k_all_routers, 58, router_solicit())) == std::nullopt);
    CHECK(k_full.check(ipv6(k_unspecified, k_all_mldv2_routers, 0, hop_by_hop(58) + mld2_report())) == std::nullopt);
    CHECK(k_full.check(ipv6(k_unspecified, k_all_mldv2_routers, 0, hop_by_hop(58) + icmpv6(131, Frame(20)))) ==
          std::nullopt);  // MLDv1
  }
  SECTION("refused: DAD for another's address, other ICMPv6, other protocols, fragments, truncated") {
    CHECK(k_full.check(ipv6(k_unspecified, k_solicited_node, 58, neighbour_solicit(k_other_address6))) ==
          DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(k_unspecified, k_solicited_node, 58, neighbour_solicit(k_gateway6))) ==
          DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(k_unspecified, k_all_nodes, 58, neighbour_advert(k_link_local))) == DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(k_unspecified, k_gateway6, 58, echo_request())) == DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(k_unspecified, k_all_routers, 17, dhcpv6_solicit())) == DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(k_unspecified, k_all_routers, 44, fragment(58, 0, false) + router_solicit())) ==
          DropReason::spoofed_ip);  // an atomic fragment
    CHECK(k_full.check(ipv6(k_unspecified, k_all_routers, 44, fragment(58, 1, false) + Frame(8))) ==
          DropReason::spoofed_ip);  // a later fragment
    const auto dad = ipv6(k_unspecified, k_solicited_node, 58, neighbour_solicit(k_link_local));
    CHECK(k_full.check(truncated(dad, dad.size() - 1)) == DropReason::spoofed_ip);  // target cut
    CHECK(k_full.check(truncated(dad, 14 + 40)) == DropReason::spoofed_ip);         // no ICMPv6 type
  }
}

TEST_CASE("SourceGuard IPv6: neighbour advertisements only for the guest's own addresses",
          "[relay][source_guard][ipv6]") {
  for (const auto& target : {k_other_address6, k_other_link_local, k_gateway6}) {
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 58, neighbour_advert(target))) == DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(k_address6, k_all_nodes, 58, neighbour_advert(target))) == DropReason::spoofed_ip);
    CHECK(k_mac_level.check(ipv6(k_link_local, k_all_nodes, 58, neighbour_advert(target))) == std::nullopt);
  }
  SECTION("behind a destination options header, and cut before its target's end") {
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 60, destination_options(58) + neighbour_advert(k_gateway6))) ==
          DropReason::spoofed_ip);
    const auto own = ipv6(k_link_local, k_all_nodes, 58, neighbour_advert(k_link_local));
    CHECK(k_full.check(truncated(own, own.size() - 1)) == DropReason::spoofed_ip);
  }
}

TEST_CASE("SourceGuard: rogue routers and DHCP servers are dropped at every level on host/shared",
          "[relay][source_guard][ipv6]") {
  for (const auto* g : {&k_full, &k_link_local_only, &k_mac_level}) {
    CHECK(g->check(ipv6(k_link_local, k_all_nodes, 58, router_advert())) == DropReason::router_advertisement);
    CHECK(g->check(ipv6(k_link_local, k_all_nodes, 17, dhcpv6_advertise())) == DropReason::dhcp_server);
    CHECK(g->check(ipv6(k_link_local, k_all_nodes, 17, udp(547, 547))) == DropReason::dhcp_server);  // a relay's
  }
  SECTION("a DHCPv4 OFFER from the guest's own address (UDP 67 → 68)") {
    // IPv4 header (20 bytes): 192.168.105.23 → 255.255.255.255, UDP; then UDP 67 → 68.
    const auto offer = ethernet(0x08, 0x00) +
                       bytes({0x45, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,  //
                              0xc0, 0xa8, 0x69, 0x17, 0xff, 0xff, 0xff, 0xff}) +
                       udp(67, 68);
    CHECK(k_full.check(offer) == DropReason::dhcp_server);
    CHECK(k_mac_level.check(offer) == DropReason::dhcp_server);
    CHECK(k_unmanaged.check(offer) == std::nullopt);  // bridged/userspace: the LAN's own DHCP
    auto from_other = offer;
    from_other[14 + 15] = std::byte{0x63};  // 192.168.105.99: any source, at level mac
    CHECK(k_full.check(from_other) == DropReason::spoofed_ip);
    CHECK(k_mac_level.check(from_other) == DropReason::dhcp_server);
    auto client = offer;
    client[14 + 21] = std::byte{68};  // source port 68: a client's
    client[14 + 23] = std::byte{67};
    CHECK(k_full.check(client) == std::nullopt);
    auto later = offer;
    later[14 + 6] = std::byte{0x00};
    later[14 + 7] = std::byte{0x03};  // a fragment at offset 24: no UDP header in it
    CHECK(k_full.check(later) == std::nullopt);
    CHECK(k_full.check(truncated(offer, 14 + 21)) == DropReason::spoofed_ip);  // source port cut
  }
  SECTION("bridged/userspace networks have their own routers") {
    CHECK(k_unmanaged.check(ipv6(k_link_local, k_all_nodes, 58, router_advert())) == std::nullopt);
    CHECK(k_unmanaged.check(ipv6(k_link_local, k_all_nodes, 17, dhcpv6_advertise())) == std::nullopt);
  }
}

TEST_CASE("SourceGuard IPv6: header chains are walked, bounded and fail closed", "[relay][source_guard][ipv6]") {
  SECTION("an RA behind hop-by-hop, destination options and an atomic fragment is still an RA") {
    CHECK(
        k_full.check(ipv6(k_link_local, k_all_nodes, 0, hop_by_hop(60) + destination_options(58) + router_advert())) ==
        DropReason::router_advertisement);
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 60,
                            destination_options(44, 4) + fragment(58, 0, false) + router_advert())) ==
          DropReason::router_advertisement);
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 44, fragment(17, 0, true) + dhcpv6_advertise())) ==
          DropReason::dhcp_server);
  }
  SECTION("a chain that does not end within the frame (RFC 7112: the first fragment holds it all)") {
    const auto long_options = ipv6(k_link_local, k_all_nodes, 60, destination_options(58, 32) + router_advert());
    CHECK(k_full.check(long_options) == DropReason::router_advertisement);
    CHECK(k_full.check(truncated(long_options, 14 + 40 + 200)) == DropReason::spoofed_ip);
    CHECK(k_mac_level.check(truncated(long_options, 14 + 40 + 200)) == DropReason::spoofed_ip);
    CHECK(k_full.check(truncated(long_options, 14 + 40 + 1)) == DropReason::spoofed_ip);
    // The headers all there, the upper layer cut: ICMPv6 and UDP cannot be told apart from an RA/server.
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 44, fragment(58, 0, true))) == DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 44, fragment(17, 0, true) + bytes({0x02}))) ==
          DropReason::spoofed_ip);
  }
  SECTION("more than eight extension headers") {
    Frame chain;
    for (int i = 0; i < 8; ++i) chain = chain + destination_options(60);
    chain = chain + destination_options(58) + echo_request();
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 60, chain)) == DropReason::spoofed_ip);
    Frame eight;
    for (int i = 0; i < 7; ++i) eight = eight + destination_options(60);
    eight = eight + destination_options(58) + echo_request();
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 60, eight)) == std::nullopt);
  }
  SECTION("later fragments carry no headers: they pass from the guest's addresses only") {
    const auto data = Frame(16, std::byte{0x86});  // bytes that would read as an RA
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 44, fragment(58, 1, true) + data)) == std::nullopt);
    CHECK(k_full.check(ipv6(k_other_link_local, k_all_nodes, 44, fragment(58, 1, false) + data)) ==
          DropReason::spoofed_ip);
    CHECK(k_full.check(ipv6(k_link_local, k_all_nodes, 44, fragment(58, 1, true))) == std::nullopt);
  }
  SECTION("a truncated or wrong fixed header") {
    const auto good = ipv6(k_link_local, k_all_nodes, 58, echo_request());
    for (std::size_t size = 14; size < 14 + 40; ++size) {
      INFO("frame of " << size << " bytes");
      CHECK(k_full.check(truncated(good, size)) == DropReason::spoofed_ip);
      CHECK(k_mac_level.check(truncated(good, size)) == DropReason::spoofed_ip);
    }
    auto v4 = good;
    v4[14] = std::byte{0x45};  // an IPv4 version nibble under EtherType 0x86dd
    CHECK(k_full.check(v4) == DropReason::spoofed_ip);
    CHECK(k_unmanaged.check(truncated(good, 20)) == std::nullopt);  // not parsed without an address
  }
}

TEST_CASE("SourceGuard level mac: ARP and IPv4 sources are not checked, the MACs are", "[relay][source_guard]") {
  // ARP reply (RFC 826) claiming 192.168.105.99 from the guest's MAC.
  const auto arp = bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x06,  //
                          0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,                                      //
                          0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0xc0, 0xa8, 0x69, 0x63,                          //
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x69, 0x01});
  CHECK(k_full.check(arp) == DropReason::spoofed_ip);
  CHECK(k_mac_level.check(arp) == std::nullopt);
  auto other_mac = arp;
  other_mac[14 + 13] = std::byte{0x0b};  // sender hardware address 02:00:00:00:00:0b
  CHECK(k_mac_level.check(other_mac) == DropReason::spoofed_mac);
  auto frame_mac = arp;
  frame_mac[11] = std::byte{0x0b};
  CHECK(k_mac_level.check(frame_mac) == DropReason::spoofed_mac);
  // VLAN tags still drop: they would carry a rogue server past the rules.
  CHECK(k_mac_level.check(ethernet(0x81, 0x00) + bytes({0x00, 0x05, 0x86, 0xdd})) == DropReason::spoofed_ip);
}

TEST_CASE("SourceGuard IPv6: ND link-layer address options must carry the attachment's MAC",
          "[relay][source_guard][ipv6]") {
  // RFC 4861 §4.6.1 option: type 1 (source) or 2 (target), length 1 (8 bytes), MAC.
  const auto option = [](unsigned type, unsigned last) { return bytes({type, 1, 0x02, 0, 0, 0, 0, last}); };
  const auto with_options = [](const Address& src, const Frame& message, const Frame& options) {
    return ipv6(src, k_all_nodes, 58, message + options);
  };
  for (const auto* g : {&k_full, &k_mac_level}) {
    CHECK(g->check(with_options(k_link_local, neighbour_advert(k_link_local), option(2, 0x0a))) == std::nullopt);
    CHECK(g->check(with_options(k_link_local, neighbour_solicit(k_gateway6), option(1, 0x0a))) == std::nullopt);
    CHECK(g->check(with_options(k_link_local, router_solicit(), option(1, 0x0a))) == std::nullopt);
    CHECK(g->check(with_options(k_link_local, neighbour_advert(k_link_local), option(2, 0x0b))) ==
          DropReason::spoofed_mac);
    CHECK(g->check(with_options(k_link_local, neighbour_solicit(k_gateway6), option(1, 0x0b))) ==
          DropReason::spoofed_mac);
    CHECK(g->check(with_options(k_link_local, router_solicit(), option(1, 0x0b))) == DropReason::spoofed_mac);
    // A second option (a nonce, type 14) first, then the wrong MAC; a zero length; one cut short.
    CHECK(g->check(with_options(k_link_local, neighbour_solicit(k_gateway6),
                                bytes({14, 1, 1, 2, 3, 4, 5, 6}) + option(1, 0x0b))) == DropReason::spoofed_mac);
    CHECK(g->check(with_options(k_link_local, neighbour_solicit(k_gateway6), bytes({1, 0, 0, 0, 0, 0, 0, 0}))) ==
          DropReason::spoofed_mac);
    CHECK(g->check(with_options(k_link_local, neighbour_solicit(k_gateway6), bytes({1, 1, 0x02, 0}))) ==
          DropReason::spoofed_mac);
  }
  SECTION("Ethernet padding after the payload is not read as options") {
    auto padded = with_options(k_link_local, neighbour_solicit(k_gateway6), option(1, 0x0a));
    padded.resize(padded.size() + 6);  // zeros: would be a zero-length option
    CHECK(k_full.check(padded) == std::nullopt);
  }
}
