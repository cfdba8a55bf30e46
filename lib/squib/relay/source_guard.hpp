#pragma once

// SourceGuard: anti-spoofing of the frames a VM sends (libvirt's clean-traffic filters
// no-mac-spoofing, no-arp-mac-spoofing, no-ip-spoofing and no-arp-ip-spoofing, plus the
// rogue-router and rogue-DHCP rules of RA-Guard (RFC 6105) and DHCPv6-Shield (RFC 7610), done
// in the relay instead of ebtables/nft, so that it works the same for every backend).
//
// Theory of operation — check() of one frame, in this order:
// 1. Fewer than 14 bytes (no Ethernet header): runt. (VmPort drops these before; the guard
//    does not rely on it.)
// 2. Ethernet source MAC must be the attachment's MAC, else spoofed_mac (compared in place
//    within the 14 bytes FrameView has just vouched for, as the check before the guard did).
// 3. ARP (EtherType 0x0806) is checked on every attachment: it must be IPv4-over-Ethernet
//    ARP (RFC 826: ptype 0x0800, hlen 6, plen 4, present up to the sender protocol address;
//    htype is left to the kernel's arp_rcv()) and its sender hardware address must be the
//    attachment's MAC, else spoofed_mac: a guest must not poison its neighbours' ARP caches
//    with another MAC (libvirt no-arp-mac-spoofing). An ARP that cannot be read that far
//    cannot be verified and is dropped the same way.
// 4. Only on a daemon-owned network (host/shared: the guest's IPv4 address is known, the
//    static DHCP lease the NetworkManager assigned; set by the registry, see
//    Attachment::set_guest_ipv4). Level `full` (the default) applies all of this; level `mac`
//    (start's `guard: "mac"`, root only) skips the IP source rules marked [full]:
//    - [full] ARP: the sender protocol address must be that address, or 0.0.0.0 (an RFC 5227
//      §2.1.1 probe), else spoofed_ip. Gratuitous ARP/announcements use the own address.
//    - VLAN-tagged frames (802.1Q 0x8100, 802.1ad 0x88a8, pre-standard QinQ 0x9100) are
//      dropped as spoofed_ip (both levels): daemon-owned networks are untagged, and a tag
//      would carry IPv4/IPv6/ARP past these checks — the rogue-server rules included — to the
//      other ports of the bridge (it forwards tagged frames unchanged without vlan_filtering).
//    - IPv4 (0x0800): a full header (version 4, IHL ≥ 5, IHL×4 bytes present), else
//      spoofed_ip (both levels: what cannot be read cannot be verified).
//      [full] Its source must be that address, else spoofed_ip. The one exception is a DHCP
//      client message from 0.0.0.0 (RFC 2131 §4.1: DISCOVER, and REQUEST in SELECTING/
//      INIT-REBOOT, are sent before the client has an address): UDP, not a fragment, source
//      port 68, destination port 67 (libvirt no-ip-spoofing allows exactly this).
//      Rogue DHCP: UDP from source port 67 (a server's or relay's message, RFC 2131 §4.1) is
//      dhcp_server. The ports are read in the first fragment (offset 0), which must hold
//      them (else spoofed_ip); later fragments carry no UDP header and pass: without the
//      first one nothing reassembles.
//    - IPv6 (0x86dd): a full fixed header (40 bytes, version 6), else spoofed_ip. The header
//      chain is walked (check_ipv6 below, bounded, fail closed) to the upper-layer header.
//      [full] The source must be the guest's link-local address (fe80::EUI-64 of its MAC,
//      core::link_local_for) or its network address (start's network.address6, the SLAAC
//      address, when known), else spoofed_ip: other attachments' addresses never pass. The
//      unspecified source :: only for what RFC 4861/4862/3810 send before an address is
//      usable: an unfragmented ICMPv6 neighbour solicitation whose target is one of the
//      guest's own addresses (duplicate address detection, RFC 4862 §5.4.2), a router
//      solicitation (RFC 4861 §6.3.7) or an MLDv1/MLDv2 report (RFC 3810 §5.2.13, which
//      Linux sends with :: while its link-local is tentative); anything else from :: is
//      spoofed_ip.
//      [full] A neighbour advertisement (ICMPv6 136) must name one of the guest's own
//      addresses as its target, else spoofed_ip (as an ARP sender address is checked): a
//      guest must not claim the gateway's or another guest's address.
//      Neighbour discovery's link-layer address options (RFC 4861 §4.6.1: source or target
//      link-layer address of an RS, NS, NA or redirect) must carry the attachment's MAC, else
//      spoofed_mac (both levels; as an ARP sender hardware address: a guest must not point its
//      neighbours' caches at another MAC); an option of length 0 or past the payload is
//      spoofed_mac too.
//      Rogue routers and DHCPv6: an ICMPv6 router advertisement (134, RFC 4861 §4.2) is
//      router_advertisement; UDP from source port 547 (a DHCPv6 server's or relay's message,
//      RFC 8415 §7.2) is dhcp_server. Both levels.
//    - Every other EtherType passes after the MAC check. Unlike libvirt's clean-traffic
//      (no-other-l2-traffic), other L2 protocols are not dropped (docs/operations.md).
//    With no address known (bridged onto a user bridge, userspace), only the MAC checks apply:
//    tagged frames, IPv4 and IPv6 pass unread; such networks have their own routers and DHCP.
//
// The IPv6 header chain (RFC 8200 §4, RFC 7045), fail closed against RA-Guard evasion
// (RFC 7113) and following RFC 7112: hop-by-hop (0), routing (43), destination options (60),
// mobility (135), HIP (139), shim6 (140) (length in 8-byte units + 1), AH (51, 4-byte units
// + 2) and fragment (44, 8 bytes) headers are skipped, at most k_max_ipv6_extension_headers
// of them; any other next-header value is the upper layer (ESP, 50, is opaque and passes as
// one). A chain that does not end within the frame, or is longer than that, is spoofed_ip. In
// a first fragment (offset 0, atomic ones included) the whole chain and the upper-layer
// header the rules read must be present (RFC 7112 §5), else spoofed_ip. A later fragment
// (offset ≠ 0) holds no headers to check: it passes the upper-layer rules (the first
// fragment was checked, and without it nothing reassembles; overlapping fragments are
// discarded whole by receivers, RFC 5722), but never from :: (the :: exceptions are
// unfragmented messages).
//
// A frame that cannot be verified is dropped under the reason of the check it could not
// pass ("fail closed"); nothing is ever asserted on frame bytes (style.md item 6).
// Cost: one pass per batch, no allocation; per frame a few bounds-checked FrameView reads,
// one 16-byte compare per IPv6 address checked. callgrind, per frame, filter() included
// (tests/unit/relay/source_guard_cost_test.cpp): other EtherTypes 59, ARP 81, IPv4 91 (UDP
// 107), IPv6 131 (UDP 151, behind a hop-by-hop header 175) instructions; before the IPv6 and
// rogue-server rules 55/78/79, IPv6 55 unparsed (docs/operations.md, "Anti-spoofing").

#include <cstdint>
#include <optional>
#include <span>

#include <squib/core/frame_batch.hpp>
#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/stats.hpp>

namespace squib::core {
class FrameView;
}  // namespace squib::core

namespace squib::relay {

// How much the guard checks on a daemon-owned network (proto::Guard, start's `guard`).
enum class GuardLevel : std::uint8_t {
  full,  // MAC, IPv4/IPv6 sources, ARP and NA addresses, rogue servers
  mac,   // MAC and ARP MAC, rogue servers; any IP source
};

// The most IPv6 extension headers walked before the upper layer (RFC 8200 §4.1 recommends
// each at most once, hop-by-hop and destination options twice: eight is every legal chain).
inline constexpr unsigned k_max_ipv6_extension_headers = 8;

class SourceGuard {
 public:
  // `ipv4`: the guest's address in host byte order (0xc0a86905 = 192.168.105.5), or nullopt
  // when the daemon does not know it: then only the MAC checks (2, 3) apply.
  explicit SourceGuard(core::MacAddress mac, std::optional<std::uint32_t> ipv4 = std::nullopt)
      : m_mac(mac), m_ipv4(ipv4), m_link_local(core::link_local_for(mac)) {}

  // nullopt: the frame may pass; otherwise the reason to drop it.
  [[nodiscard]] std::optional<core::DropReason> check(std::span<const std::byte> frame) const;

  // Appends the frames of `in` that pass to `out` (which must be empty), in order, and counts
  // every other frame in `stats` under its reason. One pass, no allocation. `verdicts`, when
  // given (at least in.count long; a running capture wants them), gets each frame's reason,
  // nullopt for the frames that passed.
  void filter(const core::FrameBatch& in, core::FrameBatch& out, core::AttachmentStats& stats,
              std::span<std::optional<core::DropReason>> verdicts = {}) const;

  [[nodiscard]] const core::MacAddress& mac() const { return m_mac; }
  [[nodiscard]] std::optional<std::uint32_t> ipv4() const { return m_ipv4; }
  void set_ipv4(std::optional<std::uint32_t> ipv4) { m_ipv4 = ipv4; }
  // The guest's network IPv6 address (start's network.address6), besides its link-local;
  // nullopt: only the link-local address is its own. Checked only when ipv4() is known.
  [[nodiscard]] const std::optional<core::Ipv6Address>& ipv6() const { return m_ipv6; }
  void set_ipv6(std::optional<core::Ipv6Address> ipv6) { m_ipv6 = ipv6; }
  [[nodiscard]] GuardLevel level() const { return m_level; }
  void set_level(GuardLevel level) { m_level = level; }

 private:
  [[nodiscard]] std::optional<core::DropReason> check_arp(const core::FrameView& frame) const;
  [[nodiscard]] std::optional<core::DropReason> check_ipv4(const core::FrameView& frame, std::uint32_t allowed) const;
  [[nodiscard]] std::optional<core::DropReason> check_ipv6(const core::FrameView& frame) const;
  // Whether the 16 bytes at `offset` (present) are the link-local or network address.
  [[nodiscard]] bool own_ipv6_at(const core::FrameView& frame, std::size_t offset) const;

  core::MacAddress m_mac;
  std::optional<std::uint32_t> m_ipv4;
  core::Ipv6Address m_link_local;
  std::optional<core::Ipv6Address> m_ipv6;
  GuardLevel m_level = GuardLevel::full;
};

}  // namespace squib::relay
