#pragma once

// SourceGuard: anti-spoofing of the frames a VM sends (libvirt's clean-traffic filters
// no-mac-spoofing, no-arp-mac-spoofing, no-ip-spoofing and no-arp-ip-spoofing, done in the
// relay instead of ebtables/nft, so that it works the same for every backend).
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
// 4. Only when the guest's IPv4 address is known (host/shared: the static DHCP lease the
//    NetworkManager assigned; set by the registry, see Attachment::set_guest_ipv4):
//    - ARP: the sender protocol address must be that address, or 0.0.0.0 (an RFC 5227
//      §2.1.1 probe), else spoofed_ip. Gratuitous ARP/announcements use the own address.
//    - IPv4 (0x0800): a full header (version 4, IHL ≥ 5, IHL×4 bytes present) whose source
//      is that address, else spoofed_ip. The one exception is a DHCP client message from
//      0.0.0.0 (RFC 2131 §4.1: DISCOVER, and REQUEST in SELECTING/INIT-REBOOT, are sent
//      before the client has an address): UDP, not a fragment, source port 68, destination
//      port 67 (libvirt no-ip-spoofing allows exactly this).
//    - VLAN-tagged frames (802.1Q 0x8100, 802.1ad 0x88a8, pre-standard QinQ 0x9100) are
//      dropped as spoofed_ip: daemon-owned networks are untagged, and a tag would carry
//      IPv4/ARP past these checks to the other ports of the bridge (it forwards tagged
//      frames unchanged without vlan_filtering). With no address known (bridged onto a user
//      bridge that may use VLANs, userspace), tagged frames pass after the MAC check; the
//      guard does not look inside tags.
//    - IPv6 (0x86dd) and every other EtherType pass after the MAC check. IPv6 source
//      addresses are NOT checked: the daemon assigns no IPv6 address (dnsmasq serves no RA
//      or DHCPv6), so guests only have link-local addresses, which any guest may claim.
//      Unlike libvirt's clean-traffic (no-other-l2-traffic), other L2 protocols are not
//      dropped either. Both are documented in docs/operations.md.
// A frame that cannot be verified is dropped under the reason of the check it could not
// pass ("fail closed"); nothing is ever asserted on frame bytes (style.md item 6).
// Cost: one pass per batch, no allocation; per frame one to four bounds-checked FrameView
// reads (six for a DHCP message from 0.0.0.0). callgrind, per frame, filter() included (the MAC-only loop it replaced:
// 20): other EtherTypes 71, IPv4 164, ARP 236 instructions — most of it the out-of-line FrameView accessors
// (docs/operations.md, "Anti-spoofing").

#include <cstdint>
#include <optional>
#include <span>

#include <squib/core/frame_batch.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/stats.hpp>

namespace squib::core {
class FrameView;
}  // namespace squib::core

namespace squib::relay {

class SourceGuard {
 public:
  // `ipv4`: the guest's address in host byte order (0xc0a86905 = 192.168.105.5), or nullopt
  // when the daemon does not know it: then only the MAC checks (2, 3) apply.
  explicit SourceGuard(core::MacAddress mac, std::optional<std::uint32_t> ipv4 = std::nullopt)
      : m_mac(mac), m_ipv4(ipv4) {}

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

 private:
  [[nodiscard]] std::optional<core::DropReason> check_arp(const core::FrameView& frame) const;
  [[nodiscard]] std::optional<core::DropReason> check_ipv4(const core::FrameView& frame, std::uint32_t allowed) const;

  core::MacAddress m_mac;
  std::optional<std::uint32_t> m_ipv4;
};

}  // namespace squib::relay
