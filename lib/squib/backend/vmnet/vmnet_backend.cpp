#include <squib/backend/vmnet/vmnet_backend.hpp>

#include <squib/backend/vmnet/vmnet_descriptor.hpp>
#include <squib/backend/vmnet/vmnet_network.hpp>
#include <squib/core/assert.hpp>
#include <squib/core/frame_pool.hpp>
#include <squib/core/frame_view.hpp>
#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/sha1.hpp>
#include <squib/uv/handle.hpp>

#include <spdlog/spdlog.h>

#include <dispatch/dispatch.h>
#include <vmnet/vmnet.h>
#include <xpc/xpc.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <optional>

namespace squib::backend {

namespace {

using core::DropReason;

// Apple vmnet.h numbers its statuses from 1000; the names below are in that order. Kept as
// numbers so that statuses newer than the SDK at hand still get their names.
constexpr std::array<std::string_view, 11> k_status_names{
    "VMNET_SUCCESS",          "VMNET_FAILURE",          "VMNET_MEM_FAILURE",
    "VMNET_INVALID_ARGUMENT", "VMNET_SETUP_INCOMPLETE", "VMNET_INVALID_ACCESS",
    "VMNET_PACKET_TOO_BIG",   "VMNET_BUFFER_EXHAUSTED", "VMNET_TOO_MANY_PACKETS",
    "VMNET_SHARING_SERVICE_BUSY", "VMNET_NOT_AUTHORIZED"};
constexpr std::uint32_t k_first_status = 1000;
static_assert(VMNET_SUCCESS == 1000 && VMNET_TOO_MANY_PACKETS == 1008, "vmnet.h numbering changed");
static_assert(core::k_batch_size <= k_vmnet_max_packets_per_call);

// vmnet_return_t is an unscoped enum whose members depend on the SDK: it is switched on and
// formatted through its number only. A `case 1010` on the enum itself breaks -Wswitch
// -Werror with an SDK whose enum stops at 1009, and fmt >= 10 refuses to format the enum.
constexpr std::uint32_t number(vmnet_return_t status) { return static_cast<std::uint32_t>(status); }
constexpr std::uint32_t k_sharing_service_busy = 1009;  // VMNET_SHARING_SERVICE_BUSY
constexpr std::uint32_t k_not_authorized = 1010;        // VMNET_NOT_AUTHORIZED, macOS 26 SDK

// "VMNET_INVALID_ARGUMENT (1003)": how a status appears in logs and error messages.
std::string describe(vmnet_return_t status) {
  return std::string(vmnet_strerror(number(status))) + " (" + std::to_string(number(status)) + ")";
}

// The errno-style code start() reports for a vmnet status.
int errno_for(vmnet_return_t status) {
  switch (number(status)) {
    case VMNET_INVALID_ACCESS: return EPERM;
    case k_not_authorized: return EPERM;
    case VMNET_INVALID_ARGUMENT: return EINVAL;
    case VMNET_MEM_FAILURE: return ENOMEM;
    case k_sharing_service_busy: return EBUSY;
    default: return EIO;
  }
}

// The dotted quad after `address` (the first DHCP address after the gateway); "" if unparsable.
std::string next_address(const char* address) {
  in_addr parsed{};
  if (address == nullptr || inet_pton(AF_INET, address, &parsed) != 1) return {};
  parsed.s_addr = htonl(ntohl(parsed.s_addr) + 1);
  char text[INET_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET, &parsed, text, sizeof(text)) == nullptr) return {};
  return text;
}

std::string string_of(xpc_object_t dict, const char* key) {
  const char* value = xpc_dictionary_get_string(dict, key);
  return value != nullptr ? value : "";
}

// What the start completion's parameters say (vmnet_backend.hpp VmnetInterfaceInfo).
VmnetInterfaceInfo read_param(xpc_object_t param) {
  VmnetInterfaceInfo info;
  info.mac = string_of(param, vmnet_mac_address_key);
  info.mtu = xpc_dictionary_get_uint64(param, vmnet_mtu_key);
  info.max_packet_size = xpc_dictionary_get_uint64(param, vmnet_max_packet_size_key);
  info.gateway = string_of(param, vmnet_start_address_key);  // start = the gateway [Apple vmnet.h]
  info.dhcp_first = next_address(xpc_dictionary_get_string(param, vmnet_start_address_key));
  info.dhcp_last = string_of(param, vmnet_end_address_key);
  info.subnet_mask = string_of(param, vmnet_subnet_mask_key);
  return info;
}

core::Error vmnet_error(std::string_view what, vmnet_return_t status) {
  std::string message = std::string(what) + ": " + describe(status);
  if (errno_for(status) == EPERM) {
    message += "; vmnet needs root or the com.apple.vm.networking entitlement";
  }
  return core::Error{errno_for(status), std::move(message)};
}

// Where a start stands, as the link sees it. pending → completed (the handler ran) → taken
// (the loop took the outcome); or pending → abandoned (the loop gave up: StartTimeout, stop()
// or destruction), after which the handler stops a late interface itself.
enum class StartPhase : std::uint8_t { pending, completed, taken, abandoned };

// Shared by the loop thread and vmnet's queue, under `mutex`. Every block holds a reference,
// so the link outlives the backend when vmnet calls back late; `async` is null once the loop
// side is closing (disarmed), so a late block never touches a closed handle.
struct QueueLink {
  std::mutex mutex;
  uv_async_t* async = nullptr;
  dispatch_queue_t queue = nullptr;  // retained: a late completion stops its interface here
  // Start: the handle vmnet_start_interface returned, and what its completion reported.
  interface_ref interface = nullptr;
  StartPhase start = StartPhase::pending;
  vmnet_return_t start_status = VMNET_FAILURE;
  VmnetInterfaceInfo info;
  // Stop: what the vmnet_stop_interface completion reported.
  bool stop_completed = false;
  vmnet_return_t stop_status = VMNET_SUCCESS;

  explicit QueueLink(dispatch_queue_t q) : queue(q) { dispatch_retain(queue); }
  ~QueueLink() { dispatch_release(queue); }
  QueueLink(const QueueLink&) = delete;
  QueueLink& operator=(const QueueLink&) = delete;

  // Caller holds `mutex`. uv_async_send is the one libuv call that is thread-safe (libuv
  // async.rst); the mutex keeps it from racing uv_close.
  void wake_locked() {
    if (async != nullptr) uv_async_send(async);
  }
  // Any thread: a PACKETS_AVAILABLE event.
  void wake() {
    std::lock_guard lock(mutex);
    wake_locked();
  }
  // vmnet's queue: the start completion handler.
  void complete_start(vmnet_return_t status, xpc_object_t param) {
    interface_ref orphan = nullptr;
    {
      std::lock_guard lock(mutex);
      if (start == StartPhase::abandoned) {
        if (status == VMNET_SUCCESS) orphan = interface;
      } else {
        start = StartPhase::completed;
        start_status = status;
        if (status == VMNET_SUCCESS && param != nullptr) info = read_param(param);
        wake_locked();
      }
    }
    // The loop gave up on this start and nobody owns the interface: stop it here (without
    // waiting: a stop awaited on its own queue never completes).
    if (orphan != nullptr) {
      vmnet_stop_interface(orphan, queue, ^(vmnet_return_t) {
      });
    }
  }
  // vmnet's queue: the stop completion handler.
  void complete_stop(vmnet_return_t status) {
    std::lock_guard lock(mutex);
    stop_completed = true;
    stop_status = status;
    wake_locked();
  }
  // Loop thread, before the async handle is closed.
  void disarm() {
    std::lock_guard lock(mutex);
    async = nullptr;
  }
};

}  // namespace

// A start completion, taken by the loop.
struct VmnetBackend::StartOutcome {
  interface_ref interface = nullptr;
  vmnet_return_t status = VMNET_FAILURE;
  VmnetInterfaceInfo info;
};

struct VmnetBackend::Vmnet {
  dispatch_queue_t queue = nullptr;
  interface_ref interface = nullptr;  // set once the start completed successfully
  std::shared_ptr<QueueLink> link;
  // The loop side: one async (start completion, packet events, stop completion) and one
  // timer (start timeout, then stop timeout); handle->data is the backend until closed.
  uv::Handle<uv_async_t> async;
  uv::Handle<uv_timer_t> timer;
  bool handles_open = false;
  std::function<void()> stop_done;  // stop()'s `done`, run after both handles closed
  std::optional<core::FramePool> rx_pool;
  std::size_t max_packet_size = 0;
  std::size_t rx_count = 0;  // frames per vmnet_read: k_batch_size, fewer for big packets
  std::array<vmpktdesc, core::k_batch_size> rx_packets{};
  std::array<iovec, core::k_batch_size> rx_iovs{};
  std::array<vmpktdesc, core::k_batch_size> tx_packets{};
  std::array<iovec, core::k_batch_size> tx_iovs{};
  vmnet_return_t last_read_status = VMNET_SUCCESS;   // log on change, not per failure
  vmnet_return_t last_write_status = VMNET_SUCCESS;

  Vmnet(const Vmnet&) = delete;
  Vmnet& operator=(const Vmnet&) = delete;
  explicit Vmnet(const std::string& name) {
    const std::string label = "com.squib.netd.vmnet." + name;
    queue = dispatch_queue_create(label.c_str(), DISPATCH_QUEUE_SERIAL);
    link = std::make_shared<QueueLink>(queue);
  }
  ~Vmnet() { dispatch_release(queue); }
};

std::string_view to_string(VmnetMode mode) {
  switch (mode) {
    case VmnetMode::shared: return "shared";
    case VmnetMode::host: return "host";
    case VmnetMode::bridged: return "bridged";
  }
  return "unknown";
}

std::string_view vmnet_strerror(std::uint32_t status) {
  if (status < k_first_status || status - k_first_status >= k_status_names.size()) return "VMNET_UNKNOWN_STATUS";
  return k_status_names[status - k_first_status];
}

InterfaceId interface_id_for(std::string_view name) {
  const core::Uuid id = core::uuid_v5(core::Uuid(k_interface_id_namespace), name);
  InterfaceId out{};
  std::copy(id.begin(), id.end(), out.begin());
  return out;
}

std::string to_string(const InterfaceId& id) {
  std::string text;
  text.reserve(36);
  char hex[3];
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    std::snprintf(hex, sizeof(hex), "%02x", static_cast<unsigned>(id[i]));
    text += hex;
  }
  return text;
}

GrantedLink VmnetBackend::granted() const {
  GrantedLink out;
  if (m_info.mtu != 0) out.mtu = static_cast<std::uint32_t>(m_info.mtu);
  if (m_info.max_packet_size != 0) out.max_packet_size = m_info.max_packet_size;
  if (m_info.gateway.empty()) return out;  // bridged: the LAN's addressing, not vmnet's
  out.gateway = m_info.gateway;
  const auto gateway = core::parse_ipv4(m_info.gateway);
  const auto mask = core::parse_ipv4(m_info.subnet_mask);
  if (gateway && mask) {
    if (const auto subnet = core::Ipv4Subnet::of(*gateway, *mask)) out.subnet = subnet->to_string();
  }
  if (!m_info.dhcp_first.empty() && !m_info.dhcp_last.empty()) out.dhcp_range = m_info.dhcp_first + "-" + m_info.dhcp_last;
  return out;
}

VmnetBackend::VmnetBackend(BackendContext context, VmnetOptions options)
    : m_context(std::move(context)), m_options(std::move(options)) {
  SQUIB_ASSERT(m_context.loop != nullptr && m_context.to_vm != nullptr && m_context.stats != nullptr);
}

VmnetBackend::~VmnetBackend() {
  if (!m_vmnet) return;
  // Destroyed without stop() (or before its done): best effort, never waiting, and a pending
  // `ready` is dropped rather than called from a destructor. vmnet may still call back into
  // the link, which is disarmed and outlives us.
  interface_ref orphan = m_state == BackendState::stopping ? nullptr : m_vmnet->interface;
  if (m_state == BackendState::starting) {
    if (auto outcome = take_start(true); outcome && outcome->status == VMNET_SUCCESS) orphan = outcome->interface;
  }
  m_vmnet->link->disarm();
  if (orphan != nullptr) {
    vmnet_interface_set_event_callback(orphan, VMNET_INTERFACE_PACKETS_AVAILABLE, nullptr, nullptr);
    vmnet_stop_interface(orphan, m_vmnet->queue, ^(vmnet_return_t) {
    });
  }
  release_handles(nullptr);
}

// ---- start ------------------------------------------------------------------------------
//
// start() → vmnet_start_interface → returns. Later, on the loop, exactly one of:
//   on_wakeup (the completion handler woke us) → finish_start → ready({} or vmnet's error)
//   on_timer (start_timeout)                   → ready(StartTimeout), late interface stopped
//   stop()                                     → ready(ECANCELED), late interface stopped

void VmnetBackend::start(Done ready) {
  SQUIB_ASSERT(m_state == BackendState::starting && !m_vmnet && !m_ready);
  m_ready = std::move(ready);
  auto desc = m_options.network ? build_network_descriptor(m_options)
                                : build_descriptor(m_options, {.name = m_context.name, .mtu = m_context.mtu});
  if (!desc.ok()) {
    fail_start(desc.error());
    return;
  }
  m_vmnet = std::make_unique<Vmnet>(m_context.name);
  open_handles();
  if (auto started = start_vmnet_interface(*desc); !started.ok()) {
    release_handles(nullptr);
    fail_start(started.error());
    return;
  }
  uv_timer_start(m_vmnet->timer.get(), [](uv_timer_t* timer) { uv::owner_of<VmnetBackend>(timer)->on_timer(); },
                 static_cast<std::uint64_t>(m_options.start_timeout.count()), 0);
}

// The loop side: one async (start completion, packet events, stop completion) and one timer
// (start timeout, then stop timeout), both dispatched by state.
// Their callbacks find the backend in handle->data; after uv::Handle::close no callback runs
// (libuv handle.rst), so they never outlive it.
void VmnetBackend::open_handles() {
  Vmnet& v = *m_vmnet;
  uv_async_init(m_context.loop, v.async.get(),
                [](uv_async_t* async) { uv::owner_of<VmnetBackend>(async)->on_wakeup(); });
  uv_timer_init(m_context.loop, v.timer.get());
  v.async->data = this;
  v.timer->data = this;
  v.handles_open = true;
  std::lock_guard lock(v.link->mutex);
  v.link->async = v.async.get();
}

// Hands the descriptor to vmnet and keeps the interface it returns in the link; the
// completion handler only records the outcome there and wakes the loop. NULL from vmnet is an
// immediate failure [Apple vmnet.h].
core::Result<void> VmnetBackend::start_vmnet_interface(const XpcObject& descriptor) {
  xpc_object_t desc = descriptor.get();
  Vmnet& v = *m_vmnet;
  std::shared_ptr<QueueLink> link = v.link;
  vmnet_start_interface_completion_handler_t on_started = ^(vmnet_return_t status, xpc_object_t param) {
    link->complete_start(status, param);
  };
  interface_ref interface = nullptr;
#if defined(__APPLE__) && SQUIB_VMNET_SDK(260000)
  if (m_options.network) {
    if (__builtin_available(macOS 26.0, *)) {
      interface = vmnet_interface_start_with_network(
          static_cast<vmnet_network_ref>(m_options.network->native_handle()), desc, v.queue, on_started);
    } else {
      return core::Error{ENOTSUP, "vmnet networks need macOS 26"};
    }
  } else {
    interface = vmnet_start_interface(desc, v.queue, on_started);
  }
#else
  if (m_options.network) return core::Error{ENOTSUP, "vmnet networks need macOS 26 and its SDK"};
  interface = vmnet_start_interface(desc, v.queue, on_started);
#endif
  if (interface == nullptr) return core::Error{EINVAL, "vmnet_start_interface rejected the descriptor"};
  // The handler runs on the queue, never inline [Apple vmnet.h], and reads `interface` only
  // once the loop abandoned the start, which happens after this store.
  std::lock_guard lock(link->mutex);
  link->interface = interface;
  return {};
}

// Loop thread, while starting: the completion's outcome if it came (then it is ours). With
// `abandon`, a start still pending is given up instead: its handler will stop the interface.
std::optional<VmnetBackend::StartOutcome> VmnetBackend::take_start(bool abandon) {
  QueueLink& link = *m_vmnet->link;
  std::lock_guard lock(link.mutex);
  if (link.start == StartPhase::completed) {
    link.start = StartPhase::taken;
    return StartOutcome{link.interface, link.start_status, link.info};
  }
  if (abandon && link.start == StartPhase::pending) link.start = StartPhase::abandoned;
  return std::nullopt;
}

// Loop thread: vmnet answered the start in time. Takes the interface into service, or
// reports vmnet's error.
void VmnetBackend::finish_start(const StartOutcome& outcome) {
  Vmnet& v = *m_vmnet;
  uv_timer_stop(v.timer.get());
  if (outcome.status != VMNET_SUCCESS) {
    release_handles(nullptr);
    fail_start(vmnet_error("vmnet_start_interface", outcome.status));
    return;
  }
  m_info = outcome.info;
  v.interface = outcome.interface;
  prepare_buffers();
  if (auto armed = arm_events(); !armed.ok()) {
    v.link->disarm();
    vmnet_stop_interface(v.interface, v.queue, ^(vmnet_return_t) {
    });
    v.interface = nullptr;
    release_handles(nullptr);
    fail_start(armed.error());
    return;
  }
  m_state = BackendState::running;
  spdlog::info("vmnet {}: started {} interface {}, VM mac {} (vmnet's: {}), mtu {}, max packet {}, gateway {}, "
               "dhcp {}-{} mask {}",
               m_context.name, to_string(m_options.mode), to_string(interface_id_for(m_context.name)),
               m_context.mac.to_string(), m_info.mac.empty() ? "none" : m_info.mac, m_info.mtu,
               m_info.max_packet_size, m_info.gateway, m_info.dhcp_first, m_info.dhcp_last, m_info.subnet_mask);
  answer_start({});
}

// Buffers: vmnet's max packet size (includes the Ethernet header, and the virtio header when
// enabled); our own max_frame if vmnet did not say. Allocated once per start (style §8).
void VmnetBackend::prepare_buffers() {
  Vmnet& v = *m_vmnet;
  v.max_packet_size = m_info.max_packet_size != 0 ? static_cast<std::size_t>(m_info.max_packet_size)
                                                  : m_context.max_frame;
  // vmnet's 256 KiB per call, counted on the buffers we offer (a TSO interface, 65550-byte
  // packets, reads 3 at a time): safe whether vmnet counts capacity or data.
  v.rx_count = std::clamp<std::size_t>(k_vmnet_max_bytes_per_call / v.max_packet_size, 1, core::k_batch_size);
  v.rx_pool.emplace(v.rx_count, v.max_packet_size);
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    v.rx_iovs[i].iov_base = i < v.rx_count ? v.rx_pool->slot(i).data() : nullptr;
    v.rx_packets[i].vm_pkt_iov = &v.rx_iovs[i];
    v.rx_packets[i].vm_pkt_iovcnt = 1;
    v.tx_packets[i].vm_pkt_iov = &v.tx_iovs[i];
    v.tx_packets[i].vm_pkt_iovcnt = 1;
  }
  if (m_info.mtu != 0 && m_info.mtu != m_context.mtu) {
    spdlog::warn("vmnet {}: asked for MTU {}, vmnet reports {}", m_context.name, m_context.mtu, m_info.mtu);
  }
}

// PACKETS_AVAILABLE events wake the loop through the link.
core::Result<void> VmnetBackend::arm_events() {
  Vmnet& v = *m_vmnet;
  std::shared_ptr<QueueLink> link = v.link;
  const vmnet_return_t status = vmnet_interface_set_event_callback(
      v.interface, VMNET_INTERFACE_PACKETS_AVAILABLE, v.queue, ^(interface_event_t, xpc_object_t) {
        link->wake();
      });
  if (status != VMNET_SUCCESS) return vmnet_error("vmnet_interface_set_event_callback", status);
  return {};
}

void VmnetBackend::fail_start(core::Error error) {
  m_state = BackendState::failed;
  m_detail = error.message;
  spdlog::error("vmnet {}: {}", m_context.name, error.message);
  answer_start(std::move(error));
}

// Calls the pending `ready` once. Last in every path: the owner may act on the answer.
void VmnetBackend::answer_start(core::Result<void> outcome) {
  Done ready = std::exchange(m_ready, nullptr);
  if (ready) ready(std::move(outcome));
}

// ---- loop events ------------------------------------------------------------------------

void VmnetBackend::on_wakeup() {
  switch (m_state) {
    case BackendState::starting:
      if (auto outcome = take_start(false)) finish_start(*outcome);
      return;
    case BackendState::running:
      read_batches();
      return;
    case BackendState::stopping: {
      vmnet_return_t status = VMNET_SUCCESS;
      {
        std::lock_guard lock(m_vmnet->link->mutex);
        if (!m_vmnet->link->stop_completed) return;
        status = m_vmnet->link->stop_status;
      }
      if (status != VMNET_SUCCESS) {
        spdlog::warn("vmnet {}: vmnet_stop_interface: {}", m_context.name, describe(status));
      }
      finish_stop();
      return;
    }
    default: return;
  }
}

void VmnetBackend::on_timer() {
  if (m_state == BackendState::starting) {
    // A completion that beat the timer to the lock still counts.
    if (auto outcome = take_start(true)) {
      finish_start(*outcome);
      return;
    }
    release_handles(nullptr);
    fail_start(core::Error{ETIMEDOUT, "StartTimeout: vmnet_start_interface did not complete within " +
                                          std::to_string(m_options.start_timeout.count()) + " ms"});
  } else if (m_state == BackendState::stopping) {
    spdlog::warn("vmnet {}: vmnet_stop_interface did not complete within {} ms; abandoning the interface",
                 m_context.name, m_options.stop_timeout.count());
    m_detail = "StopTimeout";
    finish_stop();
  }
}

void VmnetBackend::read_batches() {
  Vmnet& v = *m_vmnet;
  for (std::size_t round = 0; round < k_max_batches_per_wakeup; ++round) {
    // vmnet_read takes each descriptor's capacity in vm_pkt_size and iov_len and overwrites
    // vm_pkt_size with the frame length, so both are reset before every call.
    for (std::size_t i = 0; i < v.rx_count; ++i) {
      v.rx_packets[i].vm_pkt_size = v.max_packet_size;
      v.rx_packets[i].vm_flags = 0;
      v.rx_iovs[i].iov_len = v.max_packet_size;
    }
    int count = static_cast<int>(v.rx_count);
    const vmnet_return_t status = vmnet_read(v.interface, v.rx_packets.data(), &count);
    if (status != VMNET_SUCCESS) {
      ++m_context.stats->errors;
      if (status != v.last_read_status) {
        spdlog::warn("vmnet {}: vmnet_read: {}", m_context.name, describe(status));
      }
      v.last_read_status = status;
      return;  // the next PACKETS_AVAILABLE event retries
    }
    v.last_read_status = VMNET_SUCCESS;
    const auto got = static_cast<std::size_t>(count < 0 ? 0 : count);
    if (got > v.rx_count) {  // vmnet broke its contract: count it, trust nothing
      ++m_context.stats->errors;
      return;
    }
    if (got == 0) return;  // drained: only an empty read says so

    core::FrameBatch batch;
    for (std::size_t i = 0; i < got; ++i) {
      const std::size_t size = v.rx_packets[i].vm_pkt_size;
      if (size > v.max_packet_size) {
        m_context.stats->drop(DropReason::oversize);
      } else if (size < core::k_ethernet_header_size) {
        m_context.stats->drop(DropReason::runt);
      } else {
        batch.push(v.rx_pool->slot(i).first(size));
      }
    }
    if (!batch.empty()) m_context.to_vm->consume(batch);
    if (m_state != BackendState::running) return;  // consume() may have stopped us
  }
  // Bound reached and the last read still brought frames: come back after the loop served
  // everyone else (vmnet will not raise another event for frames it already announced).
  uv_async_send(v.async.get());
}

void VmnetBackend::send(const core::FrameBatch& from_vm) {
  if (from_vm.empty()) return;
  if (m_state != BackendState::running) {
    m_context.stats->drop(DropReason::backend_down, from_vm.count);
    return;
  }
  Vmnet& v = *m_vmnet;
  std::size_t n = 0;
  for (std::span<const std::byte> frame : from_vm.view()) {
    if (frame.size() > v.max_packet_size) {
      m_context.stats->drop(DropReason::oversize);
      continue;
    }
    // vmnet_write only reads the buffers; iovec has no const member, hence the cast.
    v.tx_iovs[n].iov_base = const_cast<std::byte*>(frame.data());
    v.tx_iovs[n].iov_len = frame.size();
    v.tx_packets[n].vm_pkt_size = frame.size();  // must equal the iov lengths (vmnet-helper)
    v.tx_packets[n].vm_flags = 0;
    ++n;
  }
  if (n == 0) return;

  // Calls of at most 200 packets and 256 KiB (one frame is at most max packet size, 65550
  // with TSO, so every call takes at least one).
  std::size_t written = 0;
  std::size_t bytes = 0;
  std::size_t first = 0;
  while (first < n) {
    std::size_t last = first;
    std::size_t chunk_bytes = 0;
    while (last < n && last - first < k_vmnet_max_packets_per_call &&
           (last == first || chunk_bytes + v.tx_packets[last].vm_pkt_size <= k_vmnet_max_bytes_per_call)) {
      chunk_bytes += v.tx_packets[last].vm_pkt_size;
      ++last;
    }
    const std::size_t taken = write_chunk(first, last - first, n);
    for (std::size_t i = first; i < first + taken; ++i) bytes += v.tx_packets[i].vm_pkt_size;
    written += taken;
    if (taken < last - first) break;  // the rest of the batch was dropped and counted
    first = last;
  }
  m_context.stats->from_vm.add_batch(written, bytes);
}

std::size_t VmnetBackend::write_chunk(std::size_t first, std::size_t count, std::size_t total) {
  Vmnet& v = *m_vmnet;
  int done = static_cast<int>(count);
  const vmnet_return_t status = vmnet_write(v.interface, v.tx_packets.data() + first, &done);
  if (status == VMNET_SUCCESS) {
    v.last_write_status = VMNET_SUCCESS;
    const std::size_t taken = done < 0 ? 0 : std::min(static_cast<std::size_t>(done), count);
    // vmnet did not take all: it is full now; drop the rest of the batch, not just this call.
    if (taken < count) m_context.stats->drop(DropReason::backend_full, total - first - taken);
    return taken;
  }
  // A failed call is taken to have written nothing (vmnet.h: all or error).
  if (status == VMNET_BUFFER_EXHAUSTED || status == VMNET_TOO_MANY_PACKETS) {
    m_context.stats->drop(DropReason::backend_full, total - first);
  } else {
    ++m_context.stats->errors;
    m_context.stats->drop(DropReason::backend_down, total - first);
  }
  if (status != v.last_write_status) {
    spdlog::warn("vmnet {}: vmnet_write: {}", m_context.name, describe(status));
  }
  v.last_write_status = status;
  return 0;
}

// ---- stop -------------------------------------------------------------------------------

void VmnetBackend::stop(std::function<void()> done) {
  // Stopping twice is a bug of the owner (Backend contract: one stop, one done).
  SQUIB_ASSERT(m_state != BackendState::stopping && m_state != BackendState::stopped);
  if (m_state == BackendState::starting && m_vmnet) {
    stop_while_starting(std::move(done));
    return;
  }
  if (!m_vmnet || m_vmnet->interface == nullptr) {  // start() never succeeded
    m_state = BackendState::stopped;
    if (done) done();
    return;
  }
  stop_interface(std::move(done));
}

// stop() before vmnet answered the start: the pending `ready` gets ECANCELED before stop()
// returns. An interface that already came back is stopped like a running one; one still
// pending is abandoned to the completion handler, which stops it when it arrives.
void VmnetBackend::stop_while_starting(std::function<void()> done) {
  uv_timer_stop(m_vmnet->timer.get());
  auto outcome = take_start(true);
  if (outcome && outcome->status == VMNET_SUCCESS) {
    m_info = outcome->info;
    m_vmnet->interface = outcome->interface;
    stop_interface(std::move(done));
  } else {
    m_state = BackendState::stopped;
    release_handles(std::move(done));  // done after both close callbacks
  }
  spdlog::info("vmnet {}: start cancelled by stop", m_context.name);
  answer_start(core::Error{ECANCELED, "vmnet start cancelled: the attachment is stopping"});
}

// Clears the event callback, calls vmnet_stop_interface and returns; the completion wakes
// the loop, or the timer gives up after stop_timeout.
void VmnetBackend::stop_interface(std::function<void()> done) {
  Vmnet& v = *m_vmnet;
  m_state = BackendState::stopping;
  v.stop_done = std::move(done);
  // No more PACKETS_AVAILABLE events; one already queued finds the state `stopping`.
  vmnet_interface_set_event_callback(v.interface, VMNET_INTERFACE_PACKETS_AVAILABLE, nullptr, nullptr);
  std::shared_ptr<QueueLink> link = v.link;
  const vmnet_return_t status = vmnet_stop_interface(v.interface, v.queue, ^(vmnet_return_t stop_status) {
    link->complete_stop(stop_status);
  });
  if (status != VMNET_SUCCESS) {
    spdlog::warn("vmnet {}: vmnet_stop_interface: {}", m_context.name, describe(status));
    finish_stop();
    return;
  }
  uv_timer_start(v.timer.get(), [](uv_timer_t* timer) { uv::owner_of<VmnetBackend>(timer)->on_timer(); },
                 static_cast<std::uint64_t>(m_options.stop_timeout.count()), 0);
}

void VmnetBackend::finish_stop() {
  Vmnet& v = *m_vmnet;
  v.interface = nullptr;
  m_state = BackendState::stopped;
  std::function<void()> done = std::move(v.stop_done);
  release_handles(std::move(done));  // may destroy *this (done) on a later loop turn
}

// Disarms the link and closes both handles; `done` runs after the second close callback
// (uv::Handle's close notification), when nothing of the backend is left in libuv.
void VmnetBackend::release_handles(std::function<void()> done) {
  if (!m_vmnet || !m_vmnet->handles_open) {
    if (done) done();
    return;
  }
  m_vmnet->handles_open = false;
  m_vmnet->link->disarm();
  struct Closing {
    int open = 2;
    std::function<void()> done;
  };
  auto closing = std::make_shared<Closing>(Closing{2, std::move(done)});
  auto closed = [closing] {
    if (--closing->open == 0 && closing->done) std::exchange(closing->done, nullptr)();
  };
  m_vmnet->async.close(closed);
  m_vmnet->timer.close(closed);
}

}  // namespace squib::backend
