#include <squib/backend/vmnet/vmnet_backend.hpp>

#include <squib/backend/vmnet/vmnet_network.hpp>
#include <squib/core/assert.hpp>
#include <squib/core/fnv1a.hpp>
#include <squib/core/frame_pool.hpp>
#include <squib/core/frame_view.hpp>

#include <spdlog/spdlog.h>

#include <dispatch/dispatch.h>
#include <vmnet/vmnet.h>
#include <xpc/xpc.h>

#if defined(__APPLE__)
#include <Availability.h>
// True when the SDK we build against declares symbols of macOS `v` (e.g. 150400).
#define SQUIB_VMNET_SDK(v) (__MAC_OS_X_VERSION_MAX_ALLOWED >= (v))
#else
#define SQUIB_VMNET_SDK(v) 1  // the Linux contract fake declares everything it models
#endif

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

// The errno-style code start() reports for a vmnet status.
int errno_for(vmnet_return_t status) {
  switch (status) {
    case VMNET_INVALID_ACCESS: return EPERM;
    case 1010 /* VMNET_NOT_AUTHORIZED, macOS 26 SDK */: return EPERM;
    case VMNET_INVALID_ARGUMENT: return EINVAL;
    case VMNET_MEM_FAILURE: return ENOMEM;
    case 1009 /* VMNET_SHARING_SERVICE_BUSY */: return EBUSY;
    default: return EIO;
  }
}

core::Error vmnet_error(std::string_view what, vmnet_return_t status) {
  std::string message = std::string(what) + ": " + std::string(vmnet_strerror(status)) + " (" +
                        std::to_string(status) + ")";
  if (errno_for(status) == EPERM) {
    message += "; vmnet needs root or the com.apple.vm.networking entitlement";
  }
  return core::Error{errno_for(status), std::move(message)};
}

operating_modes_t operating_mode(VmnetMode mode) {
  switch (mode) {
    case VmnetMode::shared: return VMNET_SHARED_MODE;
    case VmnetMode::host: return VMNET_HOST_MODE;
    case VmnetMode::bridged: return VMNET_BRIDGED_MODE;
  }
  return VMNET_SHARED_MODE;
}


// Shared by the loop thread and vmnet's queue. The blocks own a reference, so it outlives
// the backend when vmnet calls back late; `async` is null once the loop side is closing.
struct WakeupLink {
  std::mutex mutex;
  uv_async_t* async = nullptr;
  bool stop_completed = false;
  vmnet_return_t stop_status = VMNET_SUCCESS;

  // Any thread. uv_async_send is the one libuv call that is thread-safe (libuv async.rst).
  void wake() {
    std::lock_guard lock(mutex);
    if (async != nullptr) uv_async_send(async);
  }
  void complete_stop(vmnet_return_t status) {
    std::lock_guard lock(mutex);
    stop_completed = true;
    stop_status = status;
    if (async != nullptr) uv_async_send(async);
  }
  void disarm() {
    std::lock_guard lock(mutex);
    async = nullptr;
  }
};

// The start handshake between start() (loop thread, waiting) and the completion handler
// (vmnet's queue). Owned jointly, so a handler that runs after a timeout is still safe.
struct StartHandshake {
  std::mutex mutex;
  dispatch_semaphore_t completed = dispatch_semaphore_create(0);
  dispatch_queue_t queue = nullptr;  // retained: the late handler may need it to stop
  interface_ref interface = nullptr;
  bool done = false;
  bool abandoned = false;
  vmnet_return_t status = VMNET_FAILURE;
  VmnetInterfaceInfo info;

  StartHandshake(const StartHandshake&) = delete;
  StartHandshake& operator=(const StartHandshake&) = delete;
  explicit StartHandshake(dispatch_queue_t q) : queue(q) { dispatch_retain(queue); }
  ~StartHandshake() {
    dispatch_release(completed);
    dispatch_release(queue);
  }
};

// The two libuv handles, freed in their close callbacks (libuv handle.rst); `done` runs after
// the last one closed. Not uv::Handle<T>: that helper has no close notification.
struct LoopHandles {
  uv_async_t async{};
  uv_timer_t timer{};
  int open = 0;
  std::function<void()> on_async;    // the backend's wakeup, cleared when closing
  std::function<void()> on_timeout;  // the backend's stop timeout, cleared when closing
  std::function<void()> done;
};

void on_handle_closed(uv_handle_t* handle) {
  auto* handles = static_cast<LoopHandles*>(handle->data);
  if (--handles->open > 0) return;
  std::function<void()> done = std::move(handles->done);
  delete handles;
  if (done) done();
}

}  // namespace

struct VmnetBackend::Vmnet {
  dispatch_queue_t queue = nullptr;
  interface_ref interface = nullptr;
  std::shared_ptr<WakeupLink> link = std::make_shared<WakeupLink>();
  LoopHandles* handles = nullptr;  // owned by libuv once closing
  std::optional<core::FramePool> rx_pool;
  std::size_t max_packet_size = 0;
  std::array<vmpktdesc, core::k_batch_size> rx_packets{};
  std::array<iovec, core::k_batch_size> rx_iovs{};
  std::array<vmpktdesc, core::k_batch_size> tx_packets{};
  std::array<iovec, core::k_batch_size> tx_iovs{};
  vmnet_return_t last_read_status = VMNET_SUCCESS;   // log on change, not per failure
  vmnet_return_t last_write_status = VMNET_SUCCESS;

  ~Vmnet() {
    if (queue != nullptr) dispatch_release(queue);
  }
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
  // Two FNV bases: the standard offset basis and its bitwise complement.
  const std::uint64_t high = core::fnv1a64(name);
  const std::uint64_t low = core::fnv1a64(name, ~core::k_fnv1a64_basis);
  InterfaceId id{};
  for (std::size_t i = 0; i < 8; ++i) {
    id[i] = static_cast<unsigned char>(high >> (56 - 8 * i));
    id[8 + i] = static_cast<unsigned char>(low >> (56 - 8 * i));
  }
  id[6] = static_cast<unsigned char>((id[6] & 0x0fU) | 0x80U);  // version 8 (RFC 9562 §5.8)
  id[8] = static_cast<unsigned char>((id[8] & 0x3fU) | 0x80U);  // variant 10 (RFC 9562 §4.1)
  return id;
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

VmnetBackend::VmnetBackend(BackendContext context, VmnetOptions options)
    : m_context(std::move(context)), m_options(std::move(options)) {
  SQUIB_ASSERT(m_context.loop != nullptr && m_context.to_vm != nullptr && m_context.stats != nullptr);
}

VmnetBackend::~VmnetBackend() {
  if (!m_vmnet) return;
  // Destroyed without stop(): best effort, never waiting. vmnet may still call back into
  // the link, which is disarmed and outlives us.
  m_vmnet->link->disarm();
  if (m_vmnet->interface != nullptr) {
    vmnet_interface_set_event_callback(m_vmnet->interface, VMNET_INTERFACE_PACKETS_AVAILABLE, nullptr, nullptr);
    vmnet_stop_interface(m_vmnet->interface, m_vmnet->queue, ^(vmnet_return_t) {
    });
  }
  release_handles(nullptr);
}

core::Result<void> VmnetBackend::start_interface() {
  SQUIB_ASSERT(m_state == BackendState::starting && !m_vmnet);
  const VmnetOptions& opt = m_options;
  auto fail = [this](core::Error error) -> core::Result<void> {
    m_state = BackendState::failed;
    m_detail = error.message;
    spdlog::error("vmnet {}: {}", m_context.name, error.message);
    return error;
  };

  // Validate before touching vmnet.
  const bool any_range = !opt.start_address.empty() || !opt.end_address.empty() || !opt.subnet_mask.empty();
  const bool full_range = !opt.start_address.empty() && !opt.end_address.empty() && !opt.subnet_mask.empty();
  if (any_range && !full_range) {
    return fail({EINVAL, "start_address, end_address and subnet_mask go together"});
  }
  if (opt.mode == VmnetMode::bridged && opt.bridge.empty()) {
    return fail({EINVAL, "bridged mode needs a bridge interface (vmnet_shared_interface_name_key)"});
  }
  if (opt.offloads.virtio_header && opt.offloads.checksum) {
    return fail({EINVAL, "virtio_header and checksum offload are exclusive (Apple vmnet.h)"});
  }

  xpc_object_t desc = xpc_dictionary_create(nullptr, nullptr, 0);
  xpc_dictionary_set_uint64(desc, vmnet_operation_mode_key, operating_mode(opt.mode));
  const InterfaceId id = interface_id_for(m_context.name);
  xpc_dictionary_set_uuid(desc, vmnet_interface_id_key, id.data());
  // Advisory: vmnet reports the MAC it associates with the interface; the VM uses the
  // attachment's MAC in any case (vmnet forwards any source MAC in shared and host mode —
  // socket_vmnet serves several VMs through one interface that way).
  const std::string mac = m_context.mac.to_string();
  xpc_dictionary_set_string(desc, vmnet_mac_address_key, mac.c_str());
  xpc_dictionary_set_uint64(desc, vmnet_mtu_key, m_context.mtu);
  if (opt.mode == VmnetMode::bridged) {
    xpc_dictionary_set_string(desc, vmnet_shared_interface_name_key, opt.bridge.c_str());
  } else {
    if (full_range) {
      xpc_dictionary_set_string(desc, vmnet_start_address_key, opt.start_address.c_str());
      xpc_dictionary_set_string(desc, vmnet_end_address_key, opt.end_address.c_str());
      xpc_dictionary_set_string(desc, vmnet_subnet_mask_key, opt.subnet_mask.c_str());
    }
    if (opt.isolation) xpc_dictionary_set_bool(desc, vmnet_enable_isolation_key, true);
  }
  if (opt.offloads.tso || opt.offloads.checksum) {
#if SQUIB_VMNET_SDK(150000)
    if (__builtin_available(macOS 15.0, *)) {
      if (opt.offloads.tso) xpc_dictionary_set_bool(desc, vmnet_enable_tso_key, true);
      if (opt.offloads.checksum) xpc_dictionary_set_bool(desc, vmnet_enable_checksum_offload_key, true);
    } else {
      xpc_release(desc);
      return fail({ENOTSUP, "TSO and checksum offload need macOS 15"});
    }
#else
    xpc_release(desc);
    return fail({ENOTSUP, "TSO and checksum offload need a macOS 15 SDK"});
#endif
  }
  if (opt.offloads.virtio_header) {
#if SQUIB_VMNET_SDK(150400)
    if (__builtin_available(macOS 15.4, *)) {
      xpc_dictionary_set_bool(desc, vmnet_enable_virtio_header_key, true);
    } else {
      xpc_release(desc);
      return fail({ENOTSUP, "virtio headers need macOS 15.4"});
    }
#else
    xpc_release(desc);
    return fail({ENOTSUP, "virtio headers need a macOS 15.4 SDK"});
#endif
  }

  m_vmnet = std::make_unique<Vmnet>();
  Vmnet& v = *m_vmnet;
  const std::string label = "com.squib.netd.vmnet." + m_context.name;
  v.queue = dispatch_queue_create(label.c_str(), DISPATCH_QUEUE_SERIAL);

  auto handshake = std::make_shared<StartHandshake>(v.queue);
  vmnet_start_interface_completion_handler_t on_started = ^(vmnet_return_t status, xpc_object_t param) {
    std::lock_guard lock(handshake->mutex);
    handshake->done = true;
    handshake->status = status;
    if (status == VMNET_SUCCESS && param != nullptr) {
      const char* reported_mac = xpc_dictionary_get_string(param, vmnet_mac_address_key);
      handshake->info.mac = reported_mac != nullptr ? reported_mac : "";
      handshake->info.mtu = xpc_dictionary_get_uint64(param, vmnet_mtu_key);
      handshake->info.max_packet_size = xpc_dictionary_get_uint64(param, vmnet_max_packet_size_key);
    }
    if (!handshake->abandoned) {
      dispatch_semaphore_signal(handshake->completed);
    } else if (status == VMNET_SUCCESS && handshake->interface != nullptr) {
      // start() gave up (StartTimeout) and nobody owns this interface: stop it here.
      vmnet_stop_interface(handshake->interface, handshake->queue, ^(vmnet_return_t) {
      });
    }
  };

  interface_ref interface = nullptr;
#if defined(__APPLE__) && SQUIB_VMNET_SDK(260000)
  if (opt.network) {
    if (__builtin_available(macOS 26.0, *)) {
      interface = vmnet_interface_start_with_network(
          static_cast<vmnet_network_ref>(opt.network->native_handle()), desc, v.queue, on_started);
    } else {
      xpc_release(desc);
      return fail({ENOTSUP, "vmnet networks need macOS 26"});
    }
  } else {
    interface = vmnet_start_interface(desc, v.queue, on_started);
  }
#else
  if (opt.network) {
    xpc_release(desc);
    return fail({ENOTSUP, "vmnet networks need macOS 26 and its SDK"});
  }
  interface = vmnet_start_interface(desc, v.queue, on_started);
#endif
  xpc_release(desc);
  if (interface == nullptr) {
    return fail({EINVAL, "vmnet_start_interface rejected the descriptor"});
  }
  {
    std::lock_guard lock(handshake->mutex);
    handshake->interface = interface;
  }

  const auto timeout_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(opt.start_timeout).count();
  if (dispatch_semaphore_wait(handshake->completed, dispatch_time(DISPATCH_TIME_NOW, timeout_ns)) != 0) {
    std::lock_guard lock(handshake->mutex);
    if (!handshake->done) {
      handshake->abandoned = true;  // the late handler stops the interface
      return fail({ETIMEDOUT, "StartTimeout: vmnet_start_interface did not complete within " +
                                  std::to_string(opt.start_timeout.count()) + " ms"});
    }
    // Completed between the timeout and the lock: take the result.
  }
  {
    std::lock_guard lock(handshake->mutex);
    if (handshake->status != VMNET_SUCCESS) return fail(vmnet_error("vmnet_start_interface", handshake->status));
    m_info = handshake->info;
  }
  v.interface = interface;

  // Buffers: vmnet's max packet size (includes the Ethernet header, and the virtio header
  // when enabled); our own max_frame if vmnet did not say.
  v.max_packet_size = m_info.max_packet_size != 0 ? static_cast<std::size_t>(m_info.max_packet_size)
                                                  : m_context.max_frame;
  v.rx_pool.emplace(core::k_batch_size, v.max_packet_size);
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    v.rx_iovs[i].iov_base = v.rx_pool->slot(i).data();
    v.rx_packets[i].vm_pkt_iov = &v.rx_iovs[i];
    v.rx_packets[i].vm_pkt_iovcnt = 1;
    v.tx_packets[i].vm_pkt_iov = &v.tx_iovs[i];
    v.tx_packets[i].vm_pkt_iovcnt = 1;
  }
  if (m_info.mtu != 0 && m_info.mtu != m_context.mtu) {
    spdlog::warn("vmnet {}: asked for MTU {}, vmnet reports {}", m_context.name, m_context.mtu, m_info.mtu);
  }

  // The loop side: one async (wakeups and the stop completion) and one timer (stop timeout).
  v.handles = new LoopHandles;
  v.handles->async.data = v.handles;
  v.handles->timer.data = v.handles;
  v.handles->on_async = [this] { on_wakeup(); };
  uv_async_init(m_context.loop, &v.handles->async, [](uv_async_t* async) {
    auto* handles = static_cast<LoopHandles*>(async->data);
    if (handles->on_async) handles->on_async();
  });
  uv_timer_init(m_context.loop, &v.handles->timer);
  v.handles->open = 2;
  {
    std::lock_guard lock(v.link->mutex);
    v.link->async = &v.handles->async;
  }

  std::shared_ptr<WakeupLink> link = v.link;
  const vmnet_return_t status = vmnet_interface_set_event_callback(
      v.interface, VMNET_INTERFACE_PACKETS_AVAILABLE, v.queue, ^(interface_event_t, xpc_object_t) {
        link->wake();
      });
  if (status != VMNET_SUCCESS) {
    core::Error error = vmnet_error("vmnet_interface_set_event_callback", status);
    link->disarm();
    vmnet_stop_interface(v.interface, v.queue, ^(vmnet_return_t) {
    });
    v.interface = nullptr;
    release_handles(nullptr);
    return fail(std::move(error));
  }

  m_state = BackendState::running;
  spdlog::info("vmnet {}: started {} interface {} mac {} mtu {} max packet {}", m_context.name,
               to_string(opt.mode), to_string(id), m_info.mac, m_info.mtu, m_info.max_packet_size);
  return {};
}

void VmnetBackend::on_wakeup() {
  if (m_state == BackendState::running) {
    read_batches();
    return;
  }
  if (m_state == BackendState::stopping) {
    vmnet_return_t status = VMNET_SUCCESS;
    {
      std::lock_guard lock(m_vmnet->link->mutex);
      if (!m_vmnet->link->stop_completed) return;
      status = m_vmnet->link->stop_status;
    }
    if (status != VMNET_SUCCESS) {
      spdlog::warn("vmnet {}: vmnet_stop_interface: {} ({})", m_context.name, vmnet_strerror(status), status);
    }
    finish_stop();
  }
}

void VmnetBackend::read_batches() {
  Vmnet& v = *m_vmnet;
  for (std::size_t round = 0; round < k_max_batches_per_wakeup; ++round) {
    // vmnet_read takes each descriptor's capacity in vm_pkt_size and iov_len and overwrites
    // vm_pkt_size with the frame length, so both are reset before every call.
    for (std::size_t i = 0; i < core::k_batch_size; ++i) {
      v.rx_packets[i].vm_pkt_size = v.max_packet_size;
      v.rx_packets[i].vm_flags = 0;
      v.rx_iovs[i].iov_len = v.max_packet_size;
    }
    int count = static_cast<int>(core::k_batch_size);
    const vmnet_return_t status = vmnet_read(v.interface, v.rx_packets.data(), &count);
    if (status != VMNET_SUCCESS) {
      ++m_context.stats->errors;
      if (status != v.last_read_status) {
        spdlog::warn("vmnet {}: vmnet_read: {} ({})", m_context.name, vmnet_strerror(status), status);
      }
      v.last_read_status = status;
      return;  // the next PACKETS_AVAILABLE event retries
    }
    v.last_read_status = VMNET_SUCCESS;
    const auto got = static_cast<std::size_t>(count < 0 ? 0 : count);
    if (got > core::k_batch_size) {  // vmnet broke its contract: count it, trust nothing
      ++m_context.stats->errors;
      return;
    }

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
    if (got < core::k_batch_size) return;           // drained for now
  }
  // Bound reached with full batches: come back after the loop served everyone else.
  uv_async_send(&v.handles->async);
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

  int count = static_cast<int>(n);
  const vmnet_return_t status = vmnet_write(v.interface, v.tx_packets.data(), &count);
  if (status == VMNET_SUCCESS) {
    v.last_write_status = VMNET_SUCCESS;
    const std::size_t written = count < 0 ? 0 : std::min(static_cast<std::size_t>(count), n);
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < written; ++i) bytes += v.tx_packets[i].vm_pkt_size;
    m_context.stats->from_vm.add_batch(written, bytes);
    if (written < n) m_context.stats->drop(DropReason::backend_full, n - written);
    return;
  }
  // A failed call is taken to have written nothing (vmnet.h does not promise otherwise).
  if (status == VMNET_BUFFER_EXHAUSTED || status == VMNET_TOO_MANY_PACKETS) {
    m_context.stats->drop(DropReason::backend_full, n);
  } else {
    ++m_context.stats->errors;
    m_context.stats->drop(DropReason::backend_down, n);
  }
  if (status != v.last_write_status) {
    spdlog::warn("vmnet {}: vmnet_write: {} ({})", m_context.name, vmnet_strerror(status), status);
  }
  v.last_write_status = status;
}

void VmnetBackend::stop(std::function<void()> done) {
  // Stopping twice is a bug of the owner (Backend contract: one stop, one done).
  SQUIB_ASSERT(m_state != BackendState::stopping && m_state != BackendState::stopped);
  if (!m_vmnet || m_vmnet->interface == nullptr) {  // start() never succeeded
    m_state = BackendState::stopped;
    if (done) done();
    return;
  }
  Vmnet& v = *m_vmnet;
  m_state = BackendState::stopping;
  v.handles->done = std::move(done);
  // No more PACKETS_AVAILABLE events; one already queued finds the state `stopping`.
  vmnet_interface_set_event_callback(v.interface, VMNET_INTERFACE_PACKETS_AVAILABLE, nullptr, nullptr);
  std::shared_ptr<WakeupLink> link = v.link;
  const vmnet_return_t status = vmnet_stop_interface(v.interface, v.queue, ^(vmnet_return_t stop_status) {
    link->complete_stop(stop_status);
  });
  if (status != VMNET_SUCCESS) {
    spdlog::warn("vmnet {}: vmnet_stop_interface: {} ({})", m_context.name, vmnet_strerror(status), status);
    finish_stop();
    return;
  }
  v.handles->on_timeout = [this] {
    spdlog::warn("vmnet {}: vmnet_stop_interface did not complete within {} ms; abandoning the interface",
                 m_context.name, m_options.stop_timeout.count());
    m_detail = "StopTimeout";
    finish_stop();
  };
  uv_timer_start(&v.handles->timer, [](uv_timer_t* timer) {
    auto* handles = static_cast<LoopHandles*>(timer->data);
    if (handles->on_timeout) handles->on_timeout();
  }, static_cast<std::uint64_t>(m_options.stop_timeout.count()), 0);
}

void VmnetBackend::finish_stop() {
  Vmnet& v = *m_vmnet;
  v.interface = nullptr;
  m_state = BackendState::stopped;
  std::function<void()> done = std::move(v.handles->done);
  release_handles(std::move(done));  // may destroy *this (done) on a later loop turn
}

// Disarms the link and closes both handles; `done` runs after the last close callback.
void VmnetBackend::release_handles(std::function<void()> done) {
  if (!m_vmnet || m_vmnet->handles == nullptr) {
    if (done) done();
    return;
  }
  m_vmnet->link->disarm();
  LoopHandles* handles = std::exchange(m_vmnet->handles, nullptr);
  handles->on_async = nullptr;
  handles->on_timeout = nullptr;
  handles->done = std::move(done);
  uv_close(reinterpret_cast<uv_handle_t*>(&handles->async), on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&handles->timer), on_handle_closed);
}

}  // namespace squib::backend
