#include <squib/backend/tap_stats_poller.hpp>

#include <linux/netfilter.h>  // NFPROTO_BRIDGE

#include <spdlog/spdlog.h>

#include <squib/platform/linux/netlink.hpp>
#include <squib/uv/check.hpp>

namespace squib::backend {

using core::DropReason;

void TapStatsPoller::add(const void* owner, Tap tap) {
  m_taps.insert_or_assign(owner, std::move(tap));
  if (!m_timer_ready) {
    uv::ok(uv_timer_init(m_loop, m_timer.get()), "uv_timer_init");
    m_timer->data = this;
    uv_unref(m_timer.base());
    m_timer_ready = true;
  }
  uv::ok(uv_timer_start(
             m_timer.get(),
             [](uv_timer_t* timer) {
               if (auto* self = uv::owner_of<TapStatsPoller>(timer)) self->refresh();
             },
             0, k_tap_stats_period_ms),
         "uv_timer_start");
}

void TapStatsPoller::remove(const void* owner) {
  m_taps.erase(owner);
  if (m_taps.empty() && m_timer_ready) uv_timer_stop(m_timer.get());
}

void TapStatsPoller::refresh() {
  if (m_taps.empty()) return;
  std::unordered_map<std::string_view, Tap*> by_ifname;
  std::unordered_map<std::string_view, Tap*> by_table;
  for (auto& [owner, tap] : m_taps) {
    if (!tap.drops_only) by_ifname.emplace(tap.ifname, &tap);
    by_table.emplace(tap.table, &tap);
  }

  auto route = platform::Netlink::open();
  auto links = route ? route->list_links() : core::Result<std::vector<platform::LinkInfo>>(route.error());
  if (!links) {
    spdlog::debug("handed-off TAP counters: {}", links.error().message);
  } else {
    for (const auto& link : links.value()) {
      const auto found = by_ifname.find(link.name);
      if (found == by_ifname.end()) continue;
      Tap& tap = *found->second;
      tap.stats->from_vm = {link.stats.rx_packets, link.stats.rx_bytes, link.stats.rx_packets};
      tap.stats->to_vm = {link.stats.tx_packets, link.stats.tx_bytes, link.stats.tx_packets};
      tap.stats->drops[static_cast<std::size_t>(DropReason::vm_full)] = link.stats.tx_dropped;
      tap.stats->errors = link.stats.rx_errors + link.stats.tx_errors;
      *tap.carrier = link.carrier;
    }
  }

  auto netfilter = platform::Netlink::open(NETLINK_NETFILTER);
  auto counters = netfilter ? netfilter->list_nft_counters(NFPROTO_BRIDGE)
                            : core::Result<std::vector<platform::NftCounter>>(netfilter.error());
  if (!counters) return spdlog::debug("handed-off TAP drop counters: {}", counters.error().message);
  for (const auto& counter : counters.value()) {
    const auto found = by_table.find(counter.table);
    if (found == by_table.end()) continue;
    if (const auto reason = core::drop_reason_named(counter.name)) {
      found->second->stats->drops[static_cast<std::size_t>(*reason)] = counter.packets;
    }
  }
}

}  // namespace squib::backend
