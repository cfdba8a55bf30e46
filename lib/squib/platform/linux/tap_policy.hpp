#pragma once

// TapPolicy: the kernel's copy of SourceGuard (relay/source_guard.hpp) for a TAP handed to a
// VMM (`start` with handoff). The daemon is not on that data path, so the rules live in
// nftables: one `bridge` family table of ours per handed-off TAP, `squib_tap_<hash>`,
// created (or re-applied) and deleted each in one `nft -f -` transaction, so a TAP's rules
// are never half there, and rules that are not ours (other tables, the operator's firewall)
// are never touched.
//
// Theory of operation — chain from_vm, hook bridge prerouting (every frame the VMM writes,
// before the bridge forwards it or hands it to the host), frames from other ports accepted
// at once; in this order, each drop counted by a named counter = the stats drop reason:
// 1. Ethernet source not the attachment's MAC: spoofed_mac.
// 2. ARP whose sender hardware address is not that MAC: spoofed_mac (libvirt
//    no-arp-mac-spoofing).
// 3. Only when the guest's IPv4 address is known (host/shared: its static DHCP lease):
//    - VLAN-tagged frames (802.1Q, 802.1ad, 0x9100): spoofed_ip, as in SourceGuard (a tag
//      would carry IPv4/IPv6/ARP past these checks), at both guard levels;
//    and at guard level full (start's `guard`, default; `mac` leaves these out):
//    - ARP with a sender protocol address other than that address or 0.0.0.0 (RFC 5227
//      probe): spoofed_ip;
//    - IPv4 from another source: spoofed_ip — except a DHCP client message from 0.0.0.0
//      (UDP 68 → 67, RFC 2131 §4.1), accepted as SourceGuard does;
//    - IPv6 from a source other than the guest's link-local address or its network address
//      (address6, when known): spoofed_ip — except, from ::, an ICMPv6 router solicitation,
//      MLDv1/MLDv2 report, or a neighbour solicitation whose target is one of those two
//      addresses (duplicate address detection), accepted as SourceGuard does;
//    - an ICMPv6 neighbour advertisement whose target (`@th,64,128`: nft 1.0.6 has no
//      `icmpv6 taddr`) is not one of those addresses: spoofed_ip.
//    The kernel finds the ICMPv6/UDP header behind extension headers (ipv6_find_hdr), but
//    unlike SourceGuard it lets through what it cannot parse (a chain cut short, a later
//    fragment): receivers drop those (RFC 5722, RFC 6980 for fragmented ND), and the relay's
//    stricter walk is the reference (relay/source_guard.hpp). Unlike SourceGuard, the ND
//    link-layer address options are not compared with the MAC (nft cannot walk options).
// Chain isolation (only for isolated attachments), hook bridge forward: every frame the bridge
// forwards from this TAP to another port, or from another port to it, is dropped and counted
// as `isolated` (between two isolated TAPs both tables match; the one the kernel evaluates
// first drops and counts the frame, so it is counted once, under either). Frames to and from
// the host (the gateway, dnsmasq) take the input/output hooks and pass. So an isolated VM
// reaches only the gateway, never another VM of its network, isolated or not, whatever the
// EtherType (IPv4, ARP, IPv6: it is layer 2). The kernel's port-isolation flag is not used
// (it only separates isolated ports from each other, and its drops happen before any hook,
// br_forward.c should_deliver(), so they could not be counted).
// Relayed TAPs (backend/tap_backend.hpp) follow the same rule with the same chain: an isolated
// relayed TAP gets a table of its own holding only chain isolation and its counter
// (tap_isolation_script; the relay's SourceGuard does chain from_vm's job in userspace).
//
// Re-applying keeps the counters: the script declares the table, flushes its rules (named
// counters are objects and survive a flush) and adds them again, all in one transaction —
// what a restarted daemon does when it adopts a TAP that outlived the previous one.
// Cost: the rules are evaluated by the kernel per frame of this TAP only (the first rule
// accepts every other port's frames); nothing of the daemon runs per frame.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/mac_address.hpp>

namespace squib::platform {

inline constexpr std::string_view k_tap_table_prefix = "squib_tap_";

struct TapPolicy {
  std::string table;   // tap_policy_table(ifname)
  std::string owner;   // tap_policy_owner(run dir): the table's comment, for stale cleanup
  std::string ifname;  // the handed-off TAP
  core::MacAddress mac;
  std::optional<std::uint32_t> ipv4;      // host byte order; nullopt: MAC checks only (bridged)
  std::optional<core::Ipv6Address> ipv6;  // network.address6; the link-local one is the MAC's
  bool check_ip = true;                   // guard full; false: `guard: "mac"`, no IP source rules
  bool isolated = false;
};

// `squib_tap_` + what follows the TAP name's `sq-` (its run-dir-scoped hash).
std::string tap_policy_table(const std::string& ifname);
// The script that creates or re-applies the table (see above).
std::string tap_policy_script(const TapPolicy& policy);
// The table of an isolated relayed TAP: counter `isolated` and chain isolation only (uses
// table, owner and ifname of `policy`). Created, re-applied and deleted like the above.
std::string tap_isolation_script(const TapPolicy& policy);
// The table's comment, naming the daemon that made it: "squib-netd " + 16 hex digits of
// FNV-1a-64 of the run dir (a path may hold quotes and exceed nft's 128-byte comments). A
// daemon starting on that run dir removes such tables (and their TAPs) that its state.json
// no longer records (see kernel_modes.cpp cleanup_stale).
std::string tap_policy_owner(const std::string& run_dir);
// The `bridge squib_tap_*` tables among `nft list tables bridge` output.
std::vector<std::string> tap_policy_tables(const std::string& list_output);
// Whether `nft list table bridge T` output carries comment `owner`.
bool tap_policy_owned_by(const std::string& table_listing, const std::string& owner);
// The TAP a table guards (the inverse of tap_policy_table).
std::string tap_policy_ifname(const std::string& table);
// The script that deletes it if it exists, atomically.
std::string tap_policy_delete_script(const std::string& table);
}  // namespace squib::platform
