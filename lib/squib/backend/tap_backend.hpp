#pragma once

// TapBackend: the Linux kernel side of a `host`, `shared` or `bridged` attachment — one TAP
// device per attachment, enslaved to a bridge (the network's `sqbr-…` or the user's bridge).
//
// Theory of operation:
// - start(): open_tap(ifname) (non-persistent, non-blocking), then by rtnetlink: MTU =
//   context.mtu, master = the bridge, link up; then poll the fd for readability on the
//   loop. Any failure closes the fd, which deletes the TAP.
// - Isolation (TapConfig::isolated): the same rule as a handed-off TAP's, "exchanges frames
//   only with the gateway, never with another VM of its network, isolated or not", by the
//   same nft chain (platform/linux/tap_policy.hpp tap_isolation_script: a bridge table of
//   its own). The table is applied through the kernel modes' NftQueue before the TAP exists
//   (its rules match the interface by name), so the TAP never forwards a frame unguarded;
//   `ready` comes once it is in place. Its `isolated` counter is copied into the stats by
//   the kernel modes' TapStatsPoller (drop counters only: the relay counts the frames).
//   stop() deletes the table through the same queue (never before its create).
// - Readable: at most k_batch_size read() calls (one frame each; a TAP has no batched read
//   without IFF_VNET_HDR/XDP) into a FramePool of k_batch_size slots allocated at start,
//   then one FrameBatch to context.to_vm. EAGAIN ends the round; the bound keeps one busy
//   TAP from starving other attachments (libuv udp.c reads 32 per wakeup for the same reason).
//   Frames shorter than an Ethernet header are runts; a frame that fills the slot (one byte
//   more than max_frame) was truncated by the kernel and is oversize; both are dropped.
// - send(): one write() per frame (a TAP takes exactly one frame per write). EAGAIN/ENOBUFS
//   = the TAP queue is full: drop and count backend_full, no retry (the kernel's own tx
//   queue already absorbed the burst). Other errors (EIO while the link is down) count
//   backend_down.
// - Batched I/O (SQUIB_TAP_IO, platform/linux/tap_ring.hpp): with a TapRing the same reads
//   and writes go in one io_uring_enter per batch instead of one syscall per frame, with the
//   same per-frame results (a read slot that found the queue empty is skipped, not the end
//   of the batch); no ring (io_uring unavailable, or it failed once): the loops above.
// - stop(): stop polling, close the fd (the kernel deletes the TAP), call done.
// Names: the TAP is `sq-<12 hex digits of FNV-1a(run dir, name)>` (15 characters =
// IFNAMSIZ-1), see tap_name(): two daemons with different run dirs in one network namespace
// never share a name. Cleanup after a crash (NetworkManager::cleanup_stale) removes only the
// TAPs of the attachments this run dir's state.json records.

#include <memory>
#include <optional>
#include <string>

#include <squib/backend/backend.hpp>
#include <squib/backend/tap_stats_poller.hpp>
#include <squib/core/fd.hpp>
#include <squib/core/frame_pool.hpp>
#include <squib/platform/linux/nft_queue.hpp>
#include <squib/platform/linux/tap_policy.hpp>
#include <squib/platform/linux/tap_ring.hpp>
#include <squib/uv/handle.hpp>

namespace squib::backend {

struct TapConfig {
  std::string ifname;  // tap_name(run dir, attachment name)
  std::string master;  // bridge to join; empty: none
  bool isolated = false;
  // isolated only: the table's name and owner comment (tap_policy_table, tap_policy_owner),
  // the kernel modes' queue and poller (both outlive the backend).
  std::string isolation_table;
  std::string owner;
  platform::NftQueue* nft = nullptr;
  TapStatsPoller* stats_poller = nullptr;
};

// `sq-` + 12 lowercase hex digits of FNV-1a-64 of the attachment name within `scope` (the
// daemon's run dir): stable, within IFNAMSIZ, and never a prefix match for our bridges.
std::string tap_name(std::string_view scope, std::string_view attachment_name);

class TapBackend final : public Backend {
 public:
  TapBackend(BackendContext context, TapConfig config);
  ~TapBackend() override;

  // Synchronous (`ready` runs before start() returns) unless isolated: then once the
  // isolation table is in place.
  void start(Done ready) override;
  void send(const core::FrameBatch& from_vm) override;
  void stop(std::function<void()> done) override;
  [[nodiscard]] BackendState state() const override { return m_state; }
  [[nodiscard]] std::string detail() const override;

 private:
  core::Result<void> open_and_configure();
  void isolation_applied(core::Result<std::string> applied);
  [[nodiscard]] platform::TapPolicy isolation_policy() const;
  void on_readable();
  // Up to k_batch_size reads (one frame each: a TAP has no recvmmsg), handed on as one batch;
  // returns how many frames were read (dropped runts and oversize ones included).
  std::size_t read_batch();
  // The io_uring path's batch calls (platform/linux/tap_ring.hpp); false when it failed, after
  // which the ring is dropped and this TAP uses read()/write() from then on.
  bool ring_read(platform::RingResults& results);
  bool ring_write(const core::FrameBatch& batch, platform::RingResults& results);

  BackendContext m_context;
  TapConfig m_config;
  core::Fd m_fd;
  core::FramePool m_pool;
  std::unique_ptr<platform::TapRing> m_ring;  // null: one read()/write() per frame
  uv::Handle<uv_poll_t> m_poll;
  BackendState m_state = BackendState::starting;
  Done m_ready;  // isolated: while the table is being applied
  // Callbacks of nft children check this before touching the backend.
  std::shared_ptr<TapBackend*> m_alive = std::make_shared<TapBackend*>(this);
};

}  // namespace squib::backend
