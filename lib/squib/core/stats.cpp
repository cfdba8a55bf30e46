#include <squib/core/stats.hpp>

#include <numeric>

namespace squib::core {

std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::runt: return "runt";
    case DropReason::oversize: return "oversize";
    case DropReason::no_peer: return "no_peer";
    case DropReason::vm_full: return "vm_full";
    case DropReason::backend_full: return "backend_full";
    case DropReason::peer_gone: return "peer_gone";
    case DropReason::spoofed_mac: return "spoofed_mac";
    case DropReason::spoofed_ip: return "spoofed_ip";
    case DropReason::backend_down: return "backend_down";
    case DropReason::dhcp_server: return "dhcp_server";
    case DropReason::router_advertisement: return "router_advertisement";
    case DropReason::isolated: return "isolated";
    case DropReason::bad_vnet_hdr: return "bad_vnet_hdr";
    case DropReason::count_: break;
  }
  return "unknown";
}

std::optional<DropReason> drop_reason_named(std::string_view name) {
  for (std::size_t i = 0; i < k_drop_reason_count; ++i) {
    const auto reason = static_cast<DropReason>(i);
    if (to_string(reason) == name) return reason;
  }
  return std::nullopt;
}

std::uint64_t AttachmentStats::total_drops() const {
  return std::accumulate(drops.begin(), drops.end(), std::uint64_t{0});
}

}  // namespace squib::core
