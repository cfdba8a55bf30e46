#include <squib/relay/vm_port.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include <squib/core/frame_view.hpp>
#include <squib/platform/socket.hpp>
#include <squib/platform/vm_socket.hpp>
#include <squib/relay/captures.hpp>

namespace squib::relay {

using core::DropReason;
using core::Error;
using core::Result;

VmPort::VmPort(std::size_t max_frame, core::AttachmentStats& stats, core::FrameSink& from_vm)
    : m_stats(stats), m_from_vm(from_vm), m_reader(max_frame) {}

VmPort::~VmPort() { close(); }

Result<std::unique_ptr<VmPort>> VmPort::open(uv_loop_t* loop, const VmPortConfig& config, core::AttachmentStats& stats,
                                             core::FrameSink& from_vm) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (config.path.size() >= sizeof addr.sun_path) {
    return Error{ENAMETOOLONG,
                 "socket path longer than " + std::to_string(sizeof addr.sun_path - 1) + " bytes: " + config.path};
  }
  std::memcpy(addr.sun_path, config.path.c_str(), config.path.size() + 1);

  // platform/vm_socket.hpp: on Linux made where one sender may queue more than 10 datagrams.
  auto opened = platform::open_vm_socket();
  if (!opened) return opened.error();
  core::Fd fd = std::move(opened.value());
  // Larger buffers absorb bursts (a 32-frame batch of 64 KiB frames is 2 MiB).
  platform::request_socket_buffers(fd.get(), config.buffer_bytes);

  // The socket file is created with its final mode by bind() under a narrowed umask, so it
  // is never briefly accessible to others. The loop is single-threaded; nothing else
  // creates files concurrently.
  const mode_t old_mask = ::umask(config.group_access ? 0117 : 0177);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0) return Error::from_errno("bind " + config.path, bind_errno);
  // lchown: never follow a symlink at the final component.
  if (::lchown(config.path.c_str(), config.uid, config.gid) != 0) {
    const int err = errno;
    ::unlink(config.path.c_str());
    return Error::from_errno("chown " + config.path, err);
  }

  std::unique_ptr<VmPort> port(new VmPort(config.max_frame, stats, from_vm));
  port->m_path = config.path;
  port->m_fd = std::move(fd);
  if (auto polling = port->start_polling(loop); !polling) return polling.error();
  return port;
}

Result<std::unique_ptr<VmPort>> VmPort::adopt(uv_loop_t* loop, core::Fd connected, std::size_t max_frame,
                                              core::AttachmentStats& stats, core::FrameSink& from_vm) {
  std::unique_ptr<VmPort> port(new VmPort(max_frame, stats, from_vm));
  port->m_fd = std::move(connected);
  port->m_connected = true;
  platform::request_socket_buffers(port->m_fd.get(), 4 * 1024 * 1024);
  if (auto polling = port->start_polling(loop); !polling) return polling.error();
  return port;
}

Result<VmPort::Pair> VmPort::open_pair(uv_loop_t* loop, std::size_t max_frame, core::AttachmentStats& stats,
                                       core::FrameSink& from_vm) {
  // Only the daemon's end is non-blocking: O_NONBLOCK belongs to the open file description,
  // and the VMM's end is the VMM's to configure.
  auto ends = platform::open_socketpair(SOCK_DGRAM, platform::Blocking::non_blocking, platform::Blocking::blocking);
  if (!ends) return ends.error();
  auto& [daemon_end, vm_end] = ends.value();
  auto port = adopt(loop, std::move(daemon_end), max_frame, stats, from_vm);
  if (!port) return port.error();
  return Pair{std::move(port.value()), std::move(vm_end)};
}

Result<void> VmPort::start_polling(uv_loop_t* loop) {
  if (const int rc = uv_poll_init(loop, m_poll.get(), m_fd.get()); rc != 0) {
    return Error{-rc, std::string("uv_poll_init: ") + uv_strerror(rc)};
  }
  m_poll->data = this;
  const int rc = uv_poll_start(m_poll.get(), UV_READABLE, [](uv_poll_t* handle, int status, int) {
    auto* self = uv::owner_of<VmPort>(handle);
    if (self != nullptr && status == 0) self->on_readable();
  });
  if (rc != 0) return Error{-rc, std::string("uv_poll_start: ") + uv_strerror(rc)};
  return {};
}

void VmPort::close() {
  m_poll.close();
  m_fd.reset();
  if (!m_path.empty()) {
    ::unlink(m_path.c_str());
    m_path.clear();
  }
}

void VmPort::learn_peer(const sockaddr_un& addr, socklen_t len) {
  if (len == m_peer_len && std::memcmp(&addr, &m_peer, len) == 0) return;
  std::memcpy(&m_peer, &addr, len);
  m_peer_len = len;
  // Logged when the VMM's address changes (first frame, a restarted VMM) — at most once a
  // second: two senders taking turns (both the owner's) change it per frame.
  const auto now = std::chrono::steady_clock::now();
  if (m_peer_logged_at && now - *m_peer_logged_at < k_peer_log_interval) {
    ++m_peer_changes_unlogged;
    return;
  }
  if (m_peer_changes_unlogged > 0) {
    spdlog::info("{}: VM peer is now {} ({} more changes since the last report)", m_path, addr.sun_path,
                 m_peer_changes_unlogged);
  } else {
    spdlog::info("{}: VM peer is now {}", m_path, addr.sun_path);
  }
  m_peer_logged_at = now;
  m_peer_changes_unlogged = 0;
  if (m_peer_observer) m_peer_observer(std::string(addr.sun_path));
}

void VmPort::on_readable() {
  // Drained while batches come back full, bounded (k_batches_per_wakeup, core/frame_batch.hpp).
  for (std::size_t round = 0; round < core::k_batches_per_wakeup; ++round) {
    if (!m_fd || read_batch() < core::k_batch_size) return;
  }
}

std::size_t VmPort::read_batch() {
  const int received = m_reader.receive(m_fd.get());
  if (received < 0) {
    ++m_stats.errors;
    return 0;
  }
  core::FrameBatch batch;
  for (std::size_t i = 0; i < static_cast<std::size_t>(received); ++i) {
    const auto& datagram = m_reader.at(i);
    if (!m_connected && datagram.from != nullptr) learn_peer(*datagram.from, datagram.from_length);
    if (datagram.truncated) {
      m_stats.drop(DropReason::oversize);
    } else if (core::is_vfkit_handshake(datagram.bytes)) {
      ++m_stats.handshakes;
    } else if (datagram.bytes.size() < core::k_ethernet_header_size) {
      m_stats.drop(DropReason::runt);
    } else {
      batch.push(datagram.bytes);
    }
  }
  if (!batch.empty()) m_from_vm.consume(batch);
  return static_cast<std::size_t>(received);
}

void VmPort::consume(const core::FrameBatch& batch) {
  if (batch.empty()) return;
  // Recorded as offered to the VM, before a full VM socket may drop some (counted as vm_full).
  if (m_captures != nullptr && m_captures->active()) m_captures->record(batch, proto::pcapng::Direction::inbound);
  if (!peer_connected()) {
    m_stats.drop(DropReason::no_peer, batch.count);
    return;
  }
  std::size_t next = 0;
  while (next < batch.count) {
    const auto outcome = m_connected ? m_writer.send(m_fd.get(), batch, next, nullptr, 0)
                                     : m_writer.send(m_fd.get(), batch, next, &m_peer, m_peer_len);
    m_stats.to_vm.add_batch(outcome.sent, outcome.sent_bytes);
    next += outcome.sent;
    if (outcome.error == 0) break;
    const std::size_t rest = batch.count - next;
    const int err = outcome.error;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      // The VM is not draining its socket: drop, never wait (design brief §2).
      m_stats.drop(DropReason::vm_full, rest);
    } else if (err == ECONNREFUSED || err == ENOENT || err == ENOTCONN) {
      // The VMM exited or unbound its socket; its next datagram (or a new VMM's at the same
      // name) re-establishes the peer.
      spdlog::info("{}: VM peer {} is gone", m_path, m_peer.sun_path);
      m_peer_len = 0;
      m_peer_logged_at.reset();  // the next peer is reported at once
      if (m_peer_observer) m_peer_observer(std::nullopt);
      m_stats.drop(DropReason::peer_gone, rest);
    } else if (err == EMSGSIZE) {
      // One frame too large for the socket: skip just that one, send the rest.
      m_stats.drop(DropReason::oversize);
      ++next;
      continue;
    } else {
      m_stats.errors += rest;
    }
    break;
  }
}

}  // namespace squib::relay
