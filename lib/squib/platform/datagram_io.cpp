#include <squib/platform/datagram_io.hpp>

#include <cerrno>

namespace squib::platform {

DatagramReader::DatagramReader(std::size_t max_datagram) : m_pool(core::k_batch_size, max_datagram) {
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    const auto slot = m_pool.slot(i);
    m_iovs[i] = iovec{slot.data(), slot.size()};
    m_messages[i].msg_hdr.msg_iov = &m_iovs[i];
    m_messages[i].msg_hdr.msg_iovlen = 1;
  }
}

int DatagramReader::receive(int fd) {
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    auto& hdr = m_messages[i].msg_hdr;
    hdr.msg_name = &m_addresses[i];
    hdr.msg_namelen = sizeof(sockaddr_un);
    hdr.msg_flags = 0;
  }
  const int received = receive_messages(fd, m_messages);
  if (received <= 0) return received;
  for (std::size_t i = 0; i < static_cast<std::size_t>(received); ++i) {
    const auto& message = m_messages[i];
    auto& datagram = m_datagrams[i];
    datagram.bytes = {static_cast<const std::byte*>(m_iovs[i].iov_base), message.msg_len};
    datagram.truncated = (message.msg_hdr.msg_flags & MSG_TRUNC) != 0;
    // A bound sender has a path; an unnamed one only the address family.
    const bool named = message.msg_hdr.msg_namelen > offsetof(sockaddr_un, sun_path) + 1;
    datagram.from = named ? &m_addresses[i] : nullptr;
    datagram.from_length = named ? message.msg_hdr.msg_namelen : 0;
  }
  return received;
}

DatagramWriter::DatagramWriter() {
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    m_messages[i].msg_hdr.msg_iov = &m_iovs[i];
    m_messages[i].msg_hdr.msg_iovlen = 1;
  }
}

DatagramWriter::Outcome DatagramWriter::send(int fd, const core::FrameBatch& batch, std::size_t first,
                                             const sockaddr_un* to, socklen_t to_length) {
  Outcome outcome;
  const std::size_t count = batch.count - first;
  for (std::size_t i = 0; i < count; ++i) {
    const auto frame = batch.frames[first + i];
    // The kernel only reads through these iovecs.
    m_iovs[i] = iovec{const_cast<std::byte*>(frame.data()), frame.size()};  // NOLINT
    auto& hdr = m_messages[i].msg_hdr;
    hdr.msg_name = const_cast<sockaddr_un*>(to);  // NOLINT: sendmsg does not write it
    hdr.msg_namelen = to != nullptr ? to_length : 0;
  }
  std::size_t done = 0;
  while (done < count) {
    const int sent = send_messages(fd, std::span(m_messages).subspan(done, count - done));
    if (sent < 0) {
      if (errno == EINTR) continue;
      outcome.error = errno;
      break;
    }
    for (std::size_t i = done; i < done + static_cast<std::size_t>(sent); ++i) {
      outcome.sent_bytes += batch.frames[first + i].size();
    }
    done += static_cast<std::size_t>(sent);
  }
  outcome.sent = done;
  return outcome;
}

}  // namespace squib::platform
