#pragma once

// Per-attachment counters. Direction names are from the VM's point of view as seen by the
// daemon: "from_vm" counts frames the VM sent (read from its socket, written to the backend);
// "to_vm" counts frames delivered to the VM's socket. Plain integers: the loop thread is the
// only writer and reader (the vmnet backend hands frames to the loop before counting).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace squib::core {

// Why a frame was not delivered. Each has its own counter in `stats`.
enum class DropReason : std::uint8_t {
  runt,           // shorter than an Ethernet header (14 bytes)
  oversize,       // longer than MTU + header (+ one VLAN tag), or truncated by the kernel
  no_peer,        // a frame for the VM before the VM has sent anything (address unknown)
  vm_full,        // the VM's socket queue is full (EAGAIN/ENOBUFS): dropped at once, no retry
  backend_full,   // the backend (TAP, child, vmnet) cannot take more right now
  peer_gone,      // the VM's socket vanished (ECONNREFUSED/ENOENT): peer forgotten
  spoofed_mac,    // source MAC is not the attachment's MAC (anti-spoofing)
  spoofed_ip,     // IPv4/IPv6 source, ARP sender or NA target not the guest's (anti-spoofing)
  backend_down,   // no backend to deliver to (child restarting, attachment failing)
  // Rogue servers on host/shared networks: counted by the relay's guard (relay/source_guard.hpp)
  // and, for handed-off TAPs, by the kernel (platform/linux/tap_policy.hpp):
  dhcp_server,           // a DHCP/DHCPv6 server message from a guest (UDP source port 67/547)
  router_advertisement,  // an ICMPv6 router advertisement from a guest
  // Counted by the kernel for handed-off TAPs (platform/linux/tap_policy.hpp), never by the relay:
  isolated,              // a frame between an isolated attachment and another VM of its bridge
  // Offload attachments (core/vnet_header.hpp): headers that cannot carry the virtio-net header
  // the frame needs (VM → TAP), or a TAP's header that does not fit its frame (TAP → VM):
  bad_vnet_hdr,
  count_
};
inline constexpr std::size_t k_drop_reason_count = static_cast<std::size_t>(DropReason::count_);

std::string_view to_string(DropReason reason);
// The reason whose to_string() is `name` (the nft counters of handed-off TAPs carry these
// names); nullopt for any other name.
std::optional<DropReason> drop_reason_named(std::string_view name);

struct DirectionStats {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::uint64_t batches = 0;  // wakeups that moved at least one frame

  void add_batch(std::size_t batch_frames, std::size_t batch_bytes) {
    frames += batch_frames;
    bytes += batch_bytes;
    batches += batch_frames > 0 ? 1 : 0;
  }
  [[nodiscard]] double mean_batch() const {
    return batches == 0 ? 0.0 : static_cast<double>(frames) / static_cast<double>(batches);
  }
};

struct AttachmentStats {
  DirectionStats from_vm;
  DirectionStats to_vm;
  std::array<std::uint64_t, k_drop_reason_count> drops{};
  std::uint64_t errors = 0;          // unexpected syscall failures on the data path
  std::uint64_t handshakes = 0;      // vfkit "VFKT" datagrams absorbed
  std::uint64_t child_restarts = 0;  // userspace/dnsmasq children restarted after dying
  std::uint64_t child_reconfigurations = 0;  // restarted on purpose with new arguments (forwards)

  void drop(DropReason reason, std::uint64_t n = 1) { drops[static_cast<std::size_t>(reason)] += n; }
  [[nodiscard]] std::uint64_t dropped(DropReason reason) const {
    return drops[static_cast<std::size_t>(reason)];
  }
  [[nodiscard]] std::uint64_t total_drops() const;
};

}  // namespace squib::core
