#include <squib/backend/tap_backend.hpp>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <variant>

#include <spdlog/spdlog.h>

#include <squib/backend/tap_offload.hpp>
#include <squib/core/assert.hpp>
#include <squib/core/fnv1a.hpp>
#include <squib/core/frame_view.hpp>
#include <squib/platform/linux/netlink.hpp>
#include <squib/platform/linux/tap_device.hpp>
#include <squib/platform/linux/vm_bridge_port.hpp>

namespace squib::backend {

using core::DropReason;
using core::Error;
using core::Result;

std::string tap_name(std::string_view scope, std::string_view attachment_name) {
  // 48 bits of FNV-1a in 12 hex digits (IFNAMSIZ).
  const std::uint64_t hash = core::fnv1a64_scoped(scope, attachment_name);
  char out[16];
  std::snprintf(out, sizeof out, "sq-%012llx", static_cast<unsigned long long>(hash & 0xffffffffffffULL));
  return out;
}

TapBackend::TapBackend(BackendContext context, TapConfig config)
    : m_context(std::move(context)),
      m_config(std::move(config)),
      // One spare byte per slot: a read that fills it was longer than max_frame. Offload: the
      // slot holds the TAP's virtio-net header, then the frame (k_batch_size x 64 KiB = 2 MiB
      // per offload attachment; plain ones keep MTU-sized slots).
      m_pool(core::k_batch_size, m_context.max_frame + 1 + (m_context.offload ? core::k_vnet_header_size : 0)) {
  if (platform::tap_io_wanted() != platform::TapIo::uring) return;
  auto ring = platform::TapRing::open();
  if (!ring) {
    spdlog::warn("{}: io_uring unavailable ({}), TAP I/O by read()/write()", m_context.name, ring.error().message);
    return;
  }
  m_ring = std::move(ring.value());
}

TapBackend::~TapBackend() {
  *m_alive = nullptr;
  if (m_config.stats_poller != nullptr) m_config.stats_poller->remove(this);
  m_poll.close();
}

void TapBackend::start(Done ready) {
  if (!m_config.isolated) return ready(open_and_configure());
  SQUIB_ASSERT(m_config.nft != nullptr && m_config.stats_poller != nullptr);
  m_ready = std::move(ready);
  m_config.nft->run(platform::tap_isolation_script(isolation_policy()),
                    [alive = std::weak_ptr<TapBackend*>(m_alive)](Result<std::string> applied) {
                      const auto self = alive.lock();
                      if (self && *self != nullptr) (*self)->isolation_applied(std::move(applied));
                    });
}

platform::TapPolicy TapBackend::isolation_policy() const {
  platform::TapPolicy policy;
  policy.table = m_config.isolation_table;
  policy.owner = m_config.owner;
  policy.ifname = m_config.ifname;
  policy.mac = m_context.mac;
  policy.isolated = true;
  return policy;
}

void TapBackend::isolation_applied(Result<std::string> applied) {
  Done ready = std::exchange(m_ready, nullptr);
  if (!ready) return;  // stopped meanwhile (answered there)
  if (!applied) {
    m_state = BackendState::failed;
    return ready(Error{applied.error().code, m_config.ifname + ": nft table bridge " + m_config.isolation_table + ": " +
                                                 applied.error().message});
  }
  auto configured = open_and_configure();
  if (configured) {
    TapStatsPoller::Tap tap{m_config.ifname, m_config.isolation_table, m_context.stats, nullptr};
    tap.drops_only = true;
    m_config.stats_poller->add(this, std::move(tap));
  }
  ready(std::move(configured));
}

Result<void> TapBackend::open_and_configure() {
  auto fd = platform::open_tap(m_config.ifname, m_context.offload);
  if (!fd) return fd.error();
  auto netlink = platform::Netlink::open();
  if (!netlink) return netlink.error();
  auto fail = [this](const Error& error) -> Result<void> {
    m_fd.reset();  // deletes the TAP
    m_state = BackendState::failed;
    return Error{error.code, m_config.ifname + ": " + error.message};
  };
  m_fd = std::move(fd.value());
  platform::LinkChange change;
  change.mtu = static_cast<std::uint32_t>(m_context.mtu);
  if (auto set = netlink->set_link(m_config.ifname, change); !set) return fail(set.error());
  if (!m_config.master.empty()) {
    // Isolation is the nft table's (it counts what it drops), not the bridge port's.
    if (auto joined = platform::join_bridge_as_vm_port(*netlink, m_config.ifname, m_config.master, m_context.mac);
        !joined) {
      return fail(joined.error());
    }
  }
  platform::LinkChange up;
  up.up = true;
  if (auto set = netlink->set_link(m_config.ifname, up); !set) return fail(set.error());

  if (const int rc = uv_poll_init(m_context.loop, m_poll.get(), m_fd.get()); rc != 0) {
    return fail(Error{-rc, std::string("uv_poll_init: ") + uv_strerror(rc)});
  }
  m_poll->data = this;
  const int polling = uv_poll_start(m_poll.get(), UV_READABLE, [](uv_poll_t* handle, int status, int) {
    auto* self = uv::owner_of<TapBackend>(handle);
    if (self == nullptr) return;
    if (status < 0) {
      ++self->m_context.stats->errors;
      return;
    }
    self->on_readable();
  });
  if (polling != 0) return fail(Error{-polling, std::string("uv_poll_start: ") + uv_strerror(polling)});
  m_state = BackendState::running;
  spdlog::info("{}: TAP {} up (mtu {}{}{})", m_context.name, m_config.ifname, m_context.mtu,
               m_config.master.empty() ? "" : ", bridge " + m_config.master, m_config.isolated ? ", isolated" : "");
  return {};
}

void TapBackend::on_readable() {
  // Drained while batches come back full, bounded (k_batches_per_wakeup, core/frame_batch.hpp).
  for (std::size_t round = 0; round < core::k_batches_per_wakeup; ++round) {
    if (!m_fd || read_batch() < core::k_batch_size) return;
  }
}

std::size_t TapBackend::read_batch() {
  core::FrameBatch batch;
  std::size_t read = 0;
  platform::RingResults ring_results;
  const bool ring = m_ring && ring_read(ring_results);
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    const auto slot = m_pool.slot(i);
    ssize_t n = 0;
    if (ring) {
      // An empty slot (-EAGAIN) may be followed by a filled one: look at every slot.
      n = ring_results[i];
      if (n < 0) {
        if (n != -EAGAIN) ++m_context.stats->errors;
        continue;
      }
    } else {
      do {
        n = ::read(m_fd.get(), slot.data(), slot.size());
      } while (n < 0 && errno == EINTR);
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) ++m_context.stats->errors;
      break;
    }
    ++read;
    auto frame = slot.first(static_cast<std::size_t>(n));
    if (m_context.offload) {  // header + frame: backend/tap_offload.hpp
      const auto taken = frame_from_tap_read(frame);
      if (const auto* reason = std::get_if<DropReason>(&taken)) {
        m_context.stats->drop(*reason);
        continue;
      }
      frame = frame.subspan(core::k_vnet_header_size);
    }
    const auto size = frame.size();
    if (size < core::k_ethernet_header_size) {
      m_context.stats->drop(DropReason::runt);
      continue;
    }
    if (size > m_context.max_frame) {
      m_context.stats->drop(DropReason::oversize);
      continue;
    }
    batch.push(frame);
  }
  if (!batch.empty()) m_context.to_vm->consume(batch);
  return read;
}

void TapBackend::send(const core::FrameBatch& from_vm) {
  if (!m_fd || m_state != BackendState::running) {
    m_context.stats->drop(DropReason::backend_down, from_vm.count);
    return;
  }
  std::size_t frames = 0;
  std::size_t bytes = 0;
  platform::RingResults ring_results;
  // Offload frames go by writev (header, frame, checksum: backend/tap_offload.hpp); at 64 KiB
  // a frame the syscall is not what costs.
  const bool ring = m_ring && !m_context.offload && ring_write(from_vm, ring_results);
  std::size_t index = 0;
  for (const auto frame : from_vm.view()) {
    ssize_t n = 0;
    int error = 0;
    if (ring) {
      n = ring_results[index++];
      error = n < 0 ? static_cast<int>(-n) : 0;
    } else if (m_context.offload) {
      TapWrite write;  // header + frame, checksum field replaced: backend/tap_offload.hpp
      if (const auto reason = prepare_tap_write(frame, m_context.mtu, write)) {
        m_context.stats->drop(*reason);
        continue;
      }
      do {
        n = ::writev(m_fd.get(), write.parts.data(), write.count);
      } while (n < 0 && errno == EINTR);
      error = n < 0 ? errno : 0;
    } else {
      do {
        n = ::write(m_fd.get(), frame.data(), frame.size());
      } while (n < 0 && errno == EINTR);
      error = n < 0 ? errno : 0;
    }
    if (n < 0) {
      const bool full = error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS;
      m_context.stats->drop(full ? DropReason::backend_full : DropReason::backend_down);
      continue;
    }
    ++frames;
    bytes += frame.size();
  }
  m_context.stats->from_vm.add_batch(frames, bytes);
}

bool TapBackend::ring_read(platform::RingResults& results) {
  if (m_ring->read_batch(m_fd.get(), m_pool, results) != 0) return true;
  spdlog::warn("{}: io_uring read: {}, TAP I/O by read()/write() from now on", m_context.name,
               std::strerror(static_cast<int>(-results[0])));
  ++m_context.stats->errors;
  m_ring.reset();  // io_uring_queue_exit cancels whatever the failed enter left queued
  return false;
}

bool TapBackend::ring_write(const core::FrameBatch& batch, platform::RingResults& results) {
  if (batch.empty() || m_ring->write_batch(m_fd.get(), batch, results) != 0) return true;
  spdlog::warn("{}: io_uring write: {}, TAP I/O by read()/write() from now on", m_context.name,
               std::strerror(static_cast<int>(-results[0])));
  ++m_context.stats->errors;
  m_ring.reset();
  return false;
}

void TapBackend::stop(std::function<void()> done) {
  m_state = BackendState::stopping;
  m_poll.close();
  m_ring.reset();  // no entry is in flight between batches; before the fd it names
  m_fd.reset();    // non-persistent TAP: the kernel deletes it with its last fd
  if (!m_config.isolated) {
    m_state = BackendState::stopped;
    return done();
  }
  m_config.stats_poller->remove(this);
  if (Done ready = std::exchange(m_ready, nullptr)) ready(Error{ECANCELED, "the attachment was stopped"});
  // Queued behind the table's create if that still runs: the delete never overtakes it.
  m_config.nft->run(platform::tap_policy_delete_script(m_config.isolation_table),
                    [alive = std::weak_ptr<TapBackend*>(m_alive), done = std::move(done)](Result<std::string> deleted) {
                      const auto self = alive.lock();
                      if (!self || *self == nullptr) return;
                      TapBackend& backend = **self;
                      if (!deleted) {
                        spdlog::error("{}: nft table bridge {}: {}", backend.m_context.name,
                                      backend.m_config.isolation_table, deleted.error().message);
                      }
                      backend.m_state = BackendState::stopped;
                      done();
                    });
}

std::string TapBackend::detail() const {
  return "tap " + m_config.ifname + (m_config.master.empty() ? "" : " on " + m_config.master);
}

}  // namespace squib::backend
