#pragma once

// The AF_UNIX SOCK_DGRAM socket of a VM port (relay/vm_port.hpp), non-blocking and
// close-on-exec. One implementation per platform file, picked by CMake:
//
// - platform/linux/vm_socket.cpp: Linux lets one sender queue at most
//   net.unix.max_dgram_qlen datagrams (10 by default) on a datagram socket that is not
//   connected to it, whatever its buffer size (af_unix.c unix_dgram_sendmsg →
//   unix_recvq_full); the limit is fixed per socket when it is created (sk_max_ack_backlog,
//   from the creating task's network namespace). A VMM writing a burst meets EAGAIN after 10
//   frames, so batches of 32 never form. Connecting the daemon's socket to the VMM would
//   lift the limit but lock out any other sender, a restarted VMM included, until the
//   daemon noticed the old one was gone. Instead the daemon creates VM sockets in a network
//   namespace of its own whose max_dgram_qlen is k_vm_socket_queue: a thread enters it at
//   start-up (while the daemon still holds CAP_SYS_ADMIN), sets the limit there, drops every
//   capability of its own and from then on only calls socket(2) on request. Nothing else
//   lives in that namespace and nothing of the host's changes; a Unix socket's filesystem
//   name is reachable from every network namespace, so binding and the VMMs are unaffected.
// - platform/posix/vm_socket.cpp (macOS; the vmnet-fake build): a plain socket. macOS has no
//   such per-sender queue limit (its datagram queue is bounded by net.local.dgram.recvspace).

#include <cstddef>
#include <string>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>

namespace squib::platform {

// Datagrams one VMM may queue on its port's socket (the receive buffer bounds it too):
// enough for several batches of 32.
inline constexpr std::size_t k_vm_socket_queue = 512;

// Prepares open_vm_socket(); called once, at start-up, before privileges are dropped.
// Returns what VM sockets will get, for the log ("queue 512 datagrams (private network
// namespace)"); on failure (no CAP_SYS_ADMIN, no network namespaces) the reason, and
// open_vm_socket() opens plain sockets: the host's limit applies.
std::string start_vm_sockets();
// A new AF_UNIX SOCK_DGRAM socket, non-blocking and close-on-exec. Loop thread only.
core::Result<core::Fd> open_vm_socket();
// The queue limit VM sockets get now: k_vm_socket_queue, or 0 when it is the host's.
std::size_t vm_socket_queue();

}  // namespace squib::platform
