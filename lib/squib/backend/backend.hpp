#pragma once

// Backend: the network side of one attachment — a TAP device, a vmnet interface, or a
// userspace network child (passt, gvproxy). The attachment owns one backend and connects it
// to the VM port:
//
//   VM socket ──VmPort──▶ Attachment (filters) ──send()──▶ Backend ──▶ network
//   VM socket ◀──VmPort── FrameSink::consume() ◀───────── Backend ◀── network
//
// Contract (all calls on the loop thread):
// - start(ready) acquires the resources and begins delivering frames to context.to_vm in
//   batches of at most core::k_batch_size, with spans into the backend's own preallocated
//   buffers. `ready` tells when the backend carries frames, or why it cannot: only then does
//   the daemon answer `start` (a passt that exits at once is the start's error, not a
//   `failed` state seen seconds after an "ok").
// - send() takes one batch from the VM; it never blocks: what cannot be written now is
//   dropped and counted in context.stats (backend_full / backend_down).
// - stop() begins an orderly teardown; `done` runs on the loop once every handle is closed
//   and every child has been reaped. After stop() no frame is delivered.
// - Done callbacks (start's `ready`, set_forwards' `applied`) run exactly once, on the loop,
//   possibly before the call that took them returns; stop() answers a pending one with
//   ECANCELED before it returns, so no request waits forever.
// - A backend never throws; errors at start come through `ready`, later ones are logged,
//   counted and reflected in state().

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include <squib/core/fd.hpp>
#include <squib/core/frame_batch.hpp>
#include <squib/core/frame_sink.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/port_forward.hpp>
#include <squib/core/result.hpp>
#include <squib/core/stats.hpp>

namespace squib::backend {

enum class BackendState { starting, running, restarting, failed, stopping, stopped };
std::string_view to_string(BackendState state);

struct BackendContext {
  uv_loop_t* loop = nullptr;
  std::string name;      // attachment name, for logs
  core::MacAddress mac;  // the VM's assigned MAC
  std::size_t mtu = 1500;
  std::size_t max_frame = 1518;  // mtu + Ethernet header + one VLAN tag
  // start's `offload` (core/vnet_header.hpp): frames up to core::k_offload_max_frame, TSO
  // super-frames and partial checksums; max_frame is then k_offload_max_frame.
  bool offload = false;
  core::FrameSink* to_vm = nullptr;  // where network frames go
  core::AttachmentStats* stats = nullptr;
  // Told when the backend's child (userspace) died on its own and is being restarted: its
  // exit status and terminating signal (0 when it exited). For `subscribe`'s child_exit.
  std::function<void(std::int64_t exit_status, int term_signal)> on_child_exit;
};

// What the network granted once start() succeeded, where the backend learns it from the
// network rather than deciding it: vmnet reports the MTU, the largest frame it takes and the
// addressing it serves, which may differ from what was asked (vmnet's defaults when nothing
// was). Backends that serve exactly what they were asked (TAP, passt) leave it empty.
struct GrantedLink {
  std::optional<std::uint32_t> mtu;
  std::optional<std::uint64_t> max_packet_size;  // the largest frame, Ethernet header included
  std::optional<std::string> subnet;             // CIDR
  std::optional<std::string> gateway;
  std::optional<std::string> dhcp_range;  // "first-last"
};

class Backend {
 public:
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // The outcome of an asynchronous step (see the contract above).
  using Done = std::function<void(core::Result<void>)>;

  virtual void start(Done ready) = 0;
  virtual void send(const core::FrameBatch& from_vm) = 0;
  virtual void stop(std::function<void()> done) = 0;

  // Replaces the set of host→guest port forwards; `applied` tells once they are in effect,
  // or why not (the previous set is then still in effect). Backends without forwarding refuse.
  virtual void set_forwards(const std::vector<core::PortForward>& /*forwards*/, Done applied) {
    applied(core::Error{ENOTSUP, "port forwarding is not supported by this backend"});
  }

  // Starts the backend's child again now (after it `failed`, e.g. once the operator fixed
  // what stopped it). Backends without a child refuse.
  virtual core::Result<void> restart() {
    return core::Error{ENOTSUP, "this attachment has no child to restart (only userspace attachments do)"};
  }

  [[nodiscard]] virtual BackendState state() const = 0;
  // Human-readable detail for list/stats: e.g. the last lines a failed child printed.
  [[nodiscard]] virtual std::string detail() const { return {}; }
  // Valid after `ready` reported success (see GrantedLink).
  [[nodiscard]] virtual GrantedLink granted() const { return {}; }
  // `handoff: fd`: after `ready`, the fd the VMM is to get (passed with the start reply by
  // SCM_RIGHTS); the backend keeps no copy. Every other backend: none (an empty Fd).
  virtual core::Fd take_handoff_fd() { return {}; }
  // A handed-off TAP (`start` with handoff): its name, and whether a VMM has it open (the
  // VM port's peer_connected, for an attachment that has no VM port). nullopt: not handed off.
  struct Handoff {
    std::string ifname;
    bool vm_connected = false;
  };
  [[nodiscard]] virtual std::optional<Handoff> handoff() const { return std::nullopt; }

 protected:
  Backend() = default;
};

}  // namespace squib::backend
