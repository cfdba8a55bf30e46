#pragma once

// TapBackend: the Linux kernel side of a `host`, `shared` or `bridged` attachment — one TAP
// device per attachment, enslaved to a bridge (the network's `sqbr-…` or the user's bridge).
//
// Theory of operation:
// - start(): open_tap(ifname) (non-persistent, non-blocking), then by rtnetlink: MTU =
//   context.mtu, master = the bridge, bridge-port isolation when asked, link up; then poll
//   the fd for readability on the loop. Any failure closes the fd, which deletes the TAP.
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
// - stop(): stop polling, close the fd (the kernel deletes the TAP), call done.
// Names: the TAP is `sq-<12 hex digits of FNV-1a(run dir, name)>` (15 characters =
// IFNAMSIZ-1), see tap_name(): two daemons with different run dirs in one network namespace
// never share a name. Cleanup after a crash (NetworkManager::cleanup_stale) removes only the
// TAPs of the attachments this run dir's state.json records.

#include <optional>
#include <string>

#include <squib/backend/backend.hpp>
#include <squib/core/fd.hpp>
#include <squib/core/frame_pool.hpp>
#include <squib/uv/handle.hpp>

namespace squib::backend {

struct TapConfig {
  std::string ifname;  // tap_name(run dir, attachment name)
  std::string master;  // bridge to join; empty: none
  bool isolated = false;
};

// `sq-` + 12 lowercase hex digits of FNV-1a-64 of the attachment name within `scope` (the
// daemon's run dir): stable, within IFNAMSIZ, and never a prefix match for our bridges.
std::string tap_name(std::string_view scope, std::string_view attachment_name);

class TapBackend final : public Backend {
 public:
  TapBackend(BackendContext context, TapConfig config);
  ~TapBackend() override;

  // Synchronous: `ready` runs before start() returns.
  void start(Done ready) override;
  void send(const core::FrameBatch& from_vm) override;
  void stop(std::function<void()> done) override;
  [[nodiscard]] BackendState state() const override { return m_state; }
  [[nodiscard]] std::string detail() const override;

 private:
  core::Result<void> open_and_configure();
  void on_readable();
  // Up to k_batch_size reads (one frame each: a TAP has no recvmmsg), handed on as one batch;
  // returns how many frames were read (dropped runts and oversize ones included).
  std::size_t read_batch();

  BackendContext m_context;
  TapConfig m_config;
  core::Fd m_fd;
  core::FramePool m_pool;
  uv::Handle<uv_poll_t> m_poll;
  BackendState m_state = BackendState::starting;
};

}  // namespace squib::backend
