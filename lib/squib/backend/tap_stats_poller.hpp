#pragma once

// TapStatsPoller: the kernel counters of every handed-off TAP (and the isolation drop counter
// of every isolated relayed TAP, Tap::drops_only) (their frames never pass through
// the daemon), read for all of them at once and copied into each attachment's stats, so
// list/stats/metrics read like a relayed attachment's.
//
// Once a period, while at least one TAP is registered: one RTM_GETLINK dump (each TAP's
// rx = from the VM, tx = to the VM, tx_dropped = vm_full, carrier = a VMM has it open) and
// one nf_tables dump of the bridge family's named counters (the drop reasons of each TAP's
// table, platform/linux/tap_policy.hpp) — two netlink round trips on the loop whatever the
// number of TAPs, no child process. (Reading them per TAP cost an `nft` child and a socket
// per TAP per second.)
//
// Contract: counters are absolute and copied, not added (a batch is one frame here). A TAP
// missing from a dump (deleted under us) keeps its last values. The timer is unreferenced: it
// never keeps the loop alive. Loop thread only; the poller outlives every registration (the
// kernel modes own it, backends register while running).

#include <cstdint>
#include <string>
#include <unordered_map>

#include <uv.h>

#include <squib/core/stats.hpp>
#include <squib/uv/handle.hpp>

namespace squib::backend {

// Refresh period (a second, the resolution `stats --watch` shows rates at).
inline constexpr std::uint64_t k_tap_stats_period_ms = 1000;

class TapStatsPoller {
 public:
  struct Tap {
    std::string ifname;
    std::string table;  // its nft bridge table (counters named after core::DropReason)
    core::AttachmentStats* stats = nullptr;
    bool* carrier = nullptr;  // may be null with drops_only
    // A relayed TAP (backend/tap_backend.hpp, isolated): only its table's drop counters are
    // copied; the relay counts its frames, bytes and errors itself.
    bool drops_only = false;
  };

  explicit TapStatsPoller(uv_loop_t* loop) : m_loop(loop) {}

  // `owner` identifies the registration; the first refresh runs at once.
  void add(const void* owner, Tap tap);
  void remove(const void* owner);

 private:
  void refresh();

  uv_loop_t* m_loop;
  std::unordered_map<const void*, Tap> m_taps;
  uv::Handle<uv_timer_t> m_timer;
  bool m_timer_ready = false;  // initialised on the first add()
};

}  // namespace squib::backend
