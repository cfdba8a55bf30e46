#include <squib/relay/vm_port.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include <spdlog/spdlog.h>

#include <squib/core/frame_view.hpp>

namespace squib::relay {

using core::DropReason;
using core::Error;
using core::Result;

namespace {

// Larger socket buffers absorb bursts (a 32-frame batch of 64 KiB frames is 2 MiB). As root
// the *FORCE variants exceed net.core.{r,w}mem_max (socket(7)); otherwise the kernel caps.
void size_buffers(int fd, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
}

// True when the datagram came from a bound (named) socket we can answer.
bool is_named(socklen_t len) { return len > offsetof(sockaddr_un, sun_path) + 1; }

}  // namespace

VmPort::VmPort(std::size_t max_frame, core::AttachmentStats& stats, core::FrameSink& from_vm)
    : m_max_frame(max_frame), m_stats(stats), m_from_vm(from_vm), m_rx_pool(core::k_batch_size, max_frame) {
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    const auto slot = m_rx_pool.slot(i);
    m_rx_iovs[i] = iovec{slot.data(), slot.size()};
    m_rx_msgs[i].msg_hdr.msg_iov = &m_rx_iovs[i];
    m_rx_msgs[i].msg_hdr.msg_iovlen = 1;
    m_tx_msgs[i].msg_hdr.msg_iov = &m_tx_iovs[i];
    m_tx_msgs[i].msg_hdr.msg_iovlen = 1;
  }
}

VmPort::~VmPort() { close(); }

Result<std::unique_ptr<VmPort>> VmPort::open(uv_loop_t* loop, const VmPortConfig& config,
                                             core::AttachmentStats& stats, core::FrameSink& from_vm) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (config.path.size() >= sizeof addr.sun_path) {
    return Error{ENAMETOOLONG, "socket path longer than " + std::to_string(sizeof addr.sun_path - 1) +
                                   " bytes: " + config.path};
  }
  std::memcpy(addr.sun_path, config.path.c_str(), config.path.size() + 1);

  core::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Error::from_errno("socket");
  size_buffers(fd.get(), config.buffer_bytes);

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
  size_buffers(port->m_fd.get(), 4 * 1024 * 1024);
  if (auto polling = port->start_polling(loop); !polling) return polling.error();
  return port;
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
  // Not per frame: only when the VMM's address changes (first frame, or a restarted VMM).
  spdlog::info("{}: VM peer is now {}", m_path, addr.sun_path);
  std::memcpy(&m_peer, &addr, len);
  m_peer_len = len;
}

void VmPort::on_readable() {
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    auto& hdr = m_rx_msgs[i].msg_hdr;
    hdr.msg_name = &m_rx_addrs[i];
    hdr.msg_namelen = sizeof(sockaddr_un);
    hdr.msg_flags = 0;
  }
  int received = 0;
  do {
    received = ::recvmmsg(m_fd.get(), m_rx_msgs.data(), core::k_batch_size, MSG_DONTWAIT, nullptr);
  } while (received < 0 && errno == EINTR);
  if (received <= 0) {
    if (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ++m_stats.errors;
    return;
  }

  core::FrameBatch batch;
  for (std::size_t i = 0; i < static_cast<std::size_t>(received); ++i) {
    const auto& msg = m_rx_msgs[i];
    if (!m_connected && is_named(msg.msg_hdr.msg_namelen)) learn_peer(m_rx_addrs[i], msg.msg_hdr.msg_namelen);
    const std::span<const std::byte> datagram{static_cast<const std::byte*>(m_rx_iovs[i].iov_base), msg.msg_len};
    if ((msg.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
      m_stats.drop(DropReason::oversize);
    } else if (core::is_vfkit_handshake(datagram)) {
      ++m_stats.handshakes;
    } else if (datagram.size() < core::k_ethernet_header_size) {
      m_stats.drop(DropReason::runt);
    } else {
      batch.push(datagram);
    }
  }
  if (!batch.empty()) m_from_vm.consume(batch);
}

void VmPort::consume(const core::FrameBatch& batch) {
  if (batch.empty()) return;
  if (!peer_connected()) {
    m_stats.drop(DropReason::no_peer, batch.count);
    return;
  }
  for (std::size_t i = 0; i < batch.count; ++i) {
    // sendmmsg takes non-const iovecs; the kernel only reads them.
    m_tx_iovs[i] = iovec{const_cast<std::byte*>(batch.frames[i].data()), batch.frames[i].size()};  // NOLINT
    auto& hdr = m_tx_msgs[i].msg_hdr;
    hdr.msg_name = m_connected ? nullptr : &m_peer;
    hdr.msg_namelen = m_connected ? 0 : m_peer_len;
  }
  std::size_t next = 0;
  std::size_t delivered = 0;
  std::size_t sent_bytes = 0;
  while (next < batch.count) {
    const int sent = ::sendmmsg(m_fd.get(), &m_tx_msgs[next], static_cast<unsigned>(batch.count - next), MSG_DONTWAIT);
    if (sent > 0) {
      for (std::size_t i = next; i < next + static_cast<std::size_t>(sent); ++i) sent_bytes += batch.frames[i].size();
      next += static_cast<std::size_t>(sent);
      delivered += static_cast<std::size_t>(sent);
      continue;
    }
    const int err = errno;
    if (err == EINTR) continue;
    const std::size_t rest = batch.count - next;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      // The VM is not draining its socket: drop, never wait (design brief §2).
      m_stats.drop(DropReason::vm_full, rest);
    } else if (err == ECONNREFUSED || err == ENOENT || err == ENOTCONN) {
      // The VMM exited or unbound its socket; the next datagram from it (or from a new VMM
      // at the same name) re-establishes the peer.
      spdlog::info("{}: VM peer {} is gone", m_path, m_peer.sun_path);
      m_peer_len = 0;
      m_stats.drop(DropReason::peer_gone, rest);
    } else if (err == EMSGSIZE) {
      // One frame too large for the socket: skip just that one.
      m_stats.drop(DropReason::oversize);
      ++next;
      continue;
    } else {
      m_stats.errors += rest;
    }
    break;
  }
  m_stats.to_vm.add_batch(delivered, sent_bytes);
}

}  // namespace squib::relay
