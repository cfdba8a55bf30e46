#pragma once

// VmnetBackend: the network side of one attachment on macOS — one vmnet.framework interface
// in shared (NAT + DHCP + DNS), host (host and VMs only) or bridged mode (design brief §1).
//
// Theory of operation:
// - Threads. vmnet reports to a private serial dispatch queue. Only three things happen
//   there: the start and stop completion handlers record their outcome, and the
//   VMNET_INTERFACE_PACKETS_AVAILABLE callback asks for a wakeup — each through
//   uv_async_send(), the only cross-thread touch of the loop. Every vmnet_read()/
//   vmnet_write(), every counter, every frame handoff and every Done callback happens on the
//   loop thread, which never waits for vmnet. The blocks hold a shared_ptr to one small link
//   object (never to the backend), and the loop side "disarms" the link under its mutex
//   before it closes the uv_async, so a late callback can neither touch a freed backend nor
//   a closed handle (libuv: uv_async_send on a closing handle is undefined).
// - start() checks the options and builds the xpc descriptor (vmnet_descriptor.hpp; errors
//   answer `ready` at once), opens the uv_async and a uv_timer, calls
//   vmnet_start_interface() (macOS 26: vmnet_interface_start_with_network()) and returns.
//   Then exactly one of these answers `ready`, on the loop:
//   · the completion handler stored status and interface parameters in the link and woke
//     the loop: the backend reads back MTU, max packet size, the MAC vmnet allocated (none:
//     we set vmnet_allocate_mac_address_key=false as QEMU does, and the VM keeps its own
//     MAC), the gateway, DHCP range and mask, allocates its buffers, arms the
//     packets-available event and is `running` — or reports vmnet's status;
//   · the timer fires after `start_timeout`: StartTimeout (ETIMEDOUT); the link is marked
//     abandoned, so a completion that still comes stops its interface itself;
//   · stop(): ECANCELED before stop() returns; an interface vmnet already handed back is
//     stopped like a running one, one still pending is abandoned as on a timeout.
//   A completion that reaches the link before the timer or stop() takes the link's lock
//   still counts (one lock decides between "completed" and "abandoned").
// - Network → VM: on a wakeup, vmnet_read() with up to k_batch_size vmpktdesc over a
//   preallocated pool (fewer when 200 packets or 256 KiB of buffers would be exceeded:
//   vmnet's per-call limits), one FrameBatch to context.to_vm->consume(), repeated until a
//   read returns 0 frames (vmnet-helper helper.c:945-959). A short read is NOT "drained":
//   vmnet documents no new event for packets already announced, and its own per-call limits
//   cut reads short, so only an empty read ends the drain. The event's
//   vmnet_estimated_packets_available_key is an estimate and is not relied on. At most
//   k_max_batches_per_wakeup reads per wakeup; if all returned frames the backend re-arms
//   its own uv_async so other handles get their turn first (libuv udp.c bounds its reads
//   likewise; style §9).
// - VM → network: send() points preallocated vmpktdesc/iovec at the batch's spans (no copy)
//   and hands them to vmnet_write() in calls of at most 200 packets and 256 KiB (a batch of
//   32 TSO frames of 64 KiB takes 8 calls). Frames vmnet does not take are dropped and
//   counted; after a short or failed call the rest of the batch is dropped too.
// - stop() clears the event callback, calls vmnet_stop_interface() and returns; the
//   completion wakes the loop, or the uv_timer gives up after `stop_timeout`. Then both
//   handles (uv::Handle) are closed and `done` runs from the second close notification:
//   nothing of the backend can call back after it, and what a late block still reaches is
//   the link it co-owns.
//
// Stats (core/stats.hpp): this backend counts from_vm frames/bytes/batches that vmnet_write
// accepted, drops backend_full (vmnet busy), backend_down (not running or vmnet failure),
// oversize (over vmnet's max packet size) and runt (network frames under 14 bytes), and
// `errors` for every failed vmnet_read/vmnet_write. to_vm is counted by the VM port.
//
// Built on macOS (vmnet.framework) and, for tests only, on Linux against the contract fake
// in tests/vmnet/fake (design brief §6). The header names no Apple type.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <squib/backend/backend.hpp>
#include <squib/core/frame_batch.hpp>
#include <squib/core/result.hpp>

namespace squib::backend {

class VmnetNetwork;
class XpcObject;

enum class VmnetMode : std::uint8_t { shared, host, bridged };
std::string_view to_string(VmnetMode mode);

// Reads per wakeup: at most this many vmnet_read() calls of up to k_batch_size frames.
// 4 x 32 = 128 frames, the batch vmnet-helper found sufficient with iperf3 (helper.c
// MAX_PACKET_COUNT).
inline constexpr std::size_t k_max_batches_per_wakeup = 4;
// vmnet's limits per vmnet_read()/vmnet_write() call: 200 packets and 256 KiB (Apple doc
// "vmnet"; QEMU net/vmnet_int.h VMNET_PACKETS_LIMIT). Beyond 200, VMNET_TOO_MANY_PACKETS.
inline constexpr std::size_t k_vmnet_max_packets_per_call = 200;
inline constexpr std::size_t k_vmnet_max_bytes_per_call = 256 * 1024;
// vmnet_start_interface typically completes in tens of milliseconds; 5 s is generous for a
// loaded machine while still bounding how long a `start` request waits for its answer (our
// choice, unmeasured). The loop is not held meanwhile.
inline constexpr std::chrono::milliseconds k_default_start_timeout{5000};
// The daemon must exit within 2 s of SIGTERM (design brief §4): stop gets 1 s.
inline constexpr std::chrono::milliseconds k_default_stop_timeout{1000};

// Offloads for VMMs that can use them (Apple vmnet.h: vmnet_enable_tso_key, macOS 11.0;
// vmnet_enable_checksum_offload_key, macOS 12.0; vmnet_enable_virtio_header_key, macOS 15.4,
// which must not be combined with checksum offload; vmnet-facts.md §2). Off by default:
// frames then are plain Ethernet frames of at most MTU + 14 bytes, what QEMU dgram and vfkit
// expect. With TSO, vmnet's max packet size is 65550.
struct VmnetOffloads {
  bool tso = false;
  bool checksum = false;
  bool virtio_header = false;
};

// What this macOS and the SDK we were built with let vmnet do (for `status`; start() refuses
// an offload that is missing with ENOTSUP). Each needs both: a key the SDK declares and a
// macOS that knows it (vmnet-facts.md §2).
struct VmnetCapabilities {
  bool isolation = false;         // vmnet_enable_isolation_key, macOS 11.0
  bool tso = false;               // vmnet_enable_tso_key, macOS 11.0
  bool checksum_offload = false;  // vmnet_enable_checksum_offload_key, macOS 12.0
  bool virtio_header = false;     // vmnet_enable_virtio_header_key, macOS 15.4
  bool network_objects = false;   // vmnet_network_create + start_with_network, macOS 26
};
VmnetCapabilities vmnet_capabilities();

struct VmnetOptions {
  VmnetMode mode = VmnetMode::shared;
  // shared/host: the subnet vmnet serves, dotted quads, all three or none (none: vmnet picks,
  // e.g. 192.168.64.0/24 in shared mode). Apple vmnet.h: vmnet_start_address_key is the
  // GATEWAY (the host's address on the subnet), NOT the first DHCP address; the DHCP pool is
  // start_address+1 … end_address (vmnet_end_address_key); addresses of the subnet outside
  // that are free for static use. RFC 1918 only. So for 192.168.105.0/24 with DHCP from .2:
  // start_address "192.168.105.1", end_address "192.168.105.254".
  std::string start_address;  // the gateway
  std::string end_address;    // the last DHCP address
  std::string subnet_mask;
  // bridged: the host interface to bridge to, e.g. "en0" (vmnet_shared_interface_name_key).
  std::string bridge;
  // VMs on the same vmnet network cannot reach each other (vmnet_enable_isolation_key).
  bool isolation = false;
  VmnetOffloads offloads;
  std::chrono::milliseconds start_timeout = k_default_start_timeout;
  std::chrono::milliseconds stop_timeout = k_default_stop_timeout;
  // macOS 26: join this network (vmnet_interface_start_with_network) instead of describing
  // one with the fields above: mode, addresses and bridge then come from the network, and
  // the descriptor carries only the keys Apple documents for that call (isolation and
  // offloads; build_network_descriptor). Set it only when VmnetNetwork::available();
  // otherwise the caller falls back to start/end address and mask. Not exercised by the
  // Linux fake.
  std::shared_ptr<VmnetNetwork> network;
};

// The name of a vmnet_return_t ("VMNET_SUCCESS" … "VMNET_NOT_AUTHORIZED"), numbered as in
// Apple's vmnet.h (1000 … 1010); "VMNET_UNKNOWN_STATUS" for anything else.
std::string_view vmnet_strerror(std::uint32_t status);

// A 16-byte interface id for vmnet_interface_id_key that is stable for a given attachment
// name, so vmnet keeps the interface's identity across daemon restarts (Apple doc
// "vmnet_interface_id_key": same id, same MAC — intended, not guaranteed). A name-based UUID
// version 5 (SHA-1, RFC 9562 §5.5) of the attachment name in k_interface_id_namespace.
// Stability is the point, not secrecy.
using InterfaceId = std::array<unsigned char, 16>;
// Our namespace for interface ids: b0d6e74e-5a56-40f6-8359-9ac9ca2e5084, a random (version 4)
// UUID drawn once for squib-netd; never change it, or every attachment gets a new id.
inline constexpr InterfaceId k_interface_id_namespace{0xb0, 0xd6, 0xe7, 0x4e, 0x5a, 0x56, 0x40, 0xf6,
                                                      0x83, 0x59, 0x9a, 0xc9, 0xca, 0x2e, 0x50, 0x84};
InterfaceId interface_id_for(std::string_view name);
std::string to_string(const InterfaceId& id);

// What vmnet reported in the start completion's parameters.
struct VmnetInterfaceInfo {
  // vmnet_mac_address_key: the MAC vmnet allocated for the guest side. Empty when vmnet
  // allocated none — our case, as we set vmnet_allocate_mac_address_key=false and the VM
  // uses its own MAC (socket_vmnet main.c: then neither MAC nor id is in the parameters).
  std::string mac;
  std::uint64_t mtu = 0;              // vmnet_mtu_key
  std::uint64_t max_packet_size = 0;  // vmnet_max_packet_size_key
  // shared/host (empty in bridged mode): vmnet_start_address_key is the gateway; the DHCP
  // pool is the address after it up to vmnet_end_address_key; vmnet_subnet_mask_key.
  std::string gateway;
  std::string dhcp_first;
  std::string dhcp_last;
  std::string subnet_mask;
};

class VmnetBackend final : public Backend {
public:
  // context.loop, context.to_vm and context.stats must outlive the backend (or its stop()).
  VmnetBackend(BackendContext context, VmnetOptions options);
  ~VmnetBackend() override;

  // Starts the vmnet interface and returns without waiting for it; `ready` answers on the
  // loop once vmnet did (see the theory of operation). Bad options answer at once.
  // Errors: EINVAL (bad options, or vmnet rejected the descriptor), ETIMEDOUT (message
  // starts "StartTimeout"), ECANCELED (stop() came first), ENOTSUP (an option this macOS
  // lacks), EPERM (VMNET_INVALID_ACCESS / VMNET_NOT_AUTHORIZED: needs root or the
  // com.apple.vm.networking entitlement), EBUSY, ENOMEM, EIO (other vmnet failures).
  void start(Done ready) override;
  void send(const core::FrameBatch& from_vm) override;
  // `done` runs on the loop after vmnet confirmed the stop (or stop_timeout passed) and the
  // backend's handles are closed; at once if start() already failed. During a start, the
  // pending `ready` gets ECANCELED before stop() returns, and `done` waits for the handles.
  void stop(std::function<void()> done) override;

  [[nodiscard]] BackendState state() const override { return m_state; }
  [[nodiscard]] std::string detail() const override { return m_detail; }
  // Valid after a successful start().
  [[nodiscard]] const VmnetInterfaceInfo& interface_info() const { return m_info; }
  // interface_info() as the daemon reports it: MTU, max packet size, and in shared/host mode
  // the subnet (gateway + mask), gateway and DHCP range vmnet serves.
  [[nodiscard]] GrantedLink granted() const override;

private:
  struct Vmnet;         // Apple types (interface, queue, vmpktdesc arrays): vmnet_backend.cpp
  struct StartOutcome;  // what the start completion reported: vmnet_backend.cpp

  // start, in order
  void open_handles();
  core::Result<void> start_vmnet_interface(const XpcObject& descriptor);
  std::optional<StartOutcome> take_start(bool abandon);
  void finish_start(const StartOutcome& outcome);
  void prepare_buffers();
  core::Result<void> arm_events();
  void fail_start(core::Error error);
  void answer_start(core::Result<void> outcome);

  // loop events (dispatched by state)
  void on_wakeup();
  void on_timer();
  void read_batches();
  // One vmnet_write() of tx_packets[first, first + count); how many vmnet took, or its error.
  std::size_t write_chunk(std::size_t first, std::size_t count, std::size_t total);

  // stop
  void stop_while_starting(std::function<void()> done);
  void stop_interface(std::function<void()> done);
  void finish_stop();
  void release_handles(std::function<void()> done);

  BackendContext m_context;
  VmnetOptions m_options;
  BackendState m_state = BackendState::starting;  // until start() succeeds or fails
  std::string m_detail;
  VmnetInterfaceInfo m_info;
  Done m_ready;  // start's answer while it is pending
  std::unique_ptr<Vmnet> m_vmnet;
};

}  // namespace squib::backend
