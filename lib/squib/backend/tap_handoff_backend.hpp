#pragma once

// TapHandoffBackend: a host, shared or bridged attachment whose VMM takes the TAP itself
// (`start` with handoff "tap" or "fd"; Firecracker, Cloud Hypervisor, QEMU -netdev tap). The
// daemon prepares the TAP and its policy and then stays off the data path: no frame of this
// attachment passes through the daemon.
//
// Theory of operation:
// - start(): a TAP named tap_name(run dir, name) is created persistent and owned by the
//   attachment's owner (platform/linux/tap_device.hpp create_handoff_tap), or — when the
//   daemon restores an attachment whose TAP outlived the previous daemon (kill -9), i.e.
//   config.adopt — the existing TAP is taken over as it is (a VMM may hold it: it is never
//   reopened, which a single-queue TAP would refuse with EBUSY anyway). Then, by rtnetlink:
//   MTU, master = the bridge, link up; then the kernel policy (platform/linux/tap_policy.hpp,
//   one nft transaction through the kernel modes' NftQueue). `ready` reports success only
//   once the rules are in place: no VMM is told the TAP's name before its guard exists. Any
//   failure deletes the TAP again (except an adopted one whose rules could not be re-applied:
//   it is deleted too — an unguarded TAP must not stay on the bridge).
// - handoff "tap": the daemon closes its fd once the TAP is configured (a single-queue TAP
//   admits one opener: the VMM). handoff "fd": the fd is kept until the registry takes it
//   (take_handoff_fd) and sends it with the reply; the daemon then holds no copy.
// - Stats: while running, the TAP is registered with the kernel modes' TapStatsPoller
//   (tap_stats_poller.hpp), which copies its kernel counters and its table's drop counters
//   into context.stats once a second, for all handed-off TAPs in two netlink dumps.
// - stop(): leaves the poller, deletes the table (through the same queue: never before its
//   create), then the TAP (rtnetlink RTM_DELLINK: a VMM still holding it sees EIO/EBADFD),
//   then `done`. A pending `ready` is answered ECANCELED first.
// send() is never called with frames (there is no VM port); if it were, they are dropped as
// backend_down.

#include <memory>
#include <optional>
#include <string>

#include <squib/backend/backend.hpp>
#include <squib/backend/tap_stats_poller.hpp>
#include <squib/core/fd.hpp>
#include <squib/platform/linux/nft_queue.hpp>
#include <squib/platform/linux/tap_device.hpp>
#include <squib/platform/linux/tap_policy.hpp>

namespace squib::backend {

struct TapHandoffConfig {
  std::string master;               // the bridge to join (required)
  platform::TapPolicy policy;       // ifname, MAC, IPv4, isolation, table name
  platform::HandoffTapOptions tap;  // owner, group, queues
  std::uint32_t mtu = 1500;
  bool pass_fd = false;                    // handoff "fd"
  bool adopt = false;                      // a restored attachment whose TAP still exists: take it over
  platform::NftQueue* nft = nullptr;       // the kernel modes' queue (outlives the backend)
  TapStatsPoller* stats_poller = nullptr;  // the kernel modes' poller (outlives the backend)
};

class TapHandoffBackend final : public Backend {
 public:
  TapHandoffBackend(BackendContext context, TapHandoffConfig config);
  ~TapHandoffBackend() override;

  void start(Done ready) override;
  void send(const core::FrameBatch& from_vm) override;
  void stop(std::function<void()> done) override;
  [[nodiscard]] BackendState state() const override { return m_state; }
  [[nodiscard]] std::string detail() const override;
  core::Fd take_handoff_fd() override { return std::move(m_fd); }
  [[nodiscard]] std::optional<Handoff> handoff() const override { return Handoff{m_config.policy.ifname, m_carrier}; }

 private:
  core::Result<void> make_link();
  void rules_applied(core::Result<std::string> applied);
  void delete_link() const;

  BackendContext m_context;
  TapHandoffConfig m_config;
  core::Fd m_fd;  // handoff "fd" until taken
  Done m_ready;   // while the rules are being applied
  BackendState m_state = BackendState::starting;
  bool m_carrier = false;  // written by the poller
  // Callbacks of nft children check this before touching the backend.
  std::shared_ptr<TapHandoffBackend*> m_alive = std::make_shared<TapHandoffBackend*>(this);
};

}  // namespace squib::backend
