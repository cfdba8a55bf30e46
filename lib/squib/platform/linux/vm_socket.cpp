// platform/vm_socket.hpp on Linux: VM sockets made in a network namespace of the daemon's
// own, whose net.unix.max_dgram_qlen is k_vm_socket_queue (see the header for why).
//
// The namespace belongs to one thread (network namespaces are per task): it unshares, writes
// the sysctl (/proc/sys/net resolves to the writer's namespace), drops all its capabilities
// and then serves requests one at a time: the loop thread posts a request and waits for the
// fd — socket(2) only, microseconds, on the control path (a `start`), never per frame. The
// thread lives until exit; the process's other threads never enter the namespace.

#include <squib/platform/vm_socket.hpp>

#include <sched.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <squib/platform/socket.hpp>

namespace squib::platform {

namespace {

class SocketNamespace {
 public:
  // Starts the thread and waits until it is in its namespace (or failed to get there).
  std::string start() {
    std::unique_lock lock(m_mutex);
    m_thread = std::thread([this] { run(); });
    m_thread.detach();  // lives until exit; parked on the condition variable when idle
    m_changed.wait(lock, [this] { return m_state != State::starting; });
    return m_state == State::serving
               ? "queue " + std::to_string(k_vm_socket_queue) + " datagrams per VMM (a private network namespace)"
               : "the host's net.unix.max_dgram_qlen per VMM: " + m_failure;
  }

  [[nodiscard]] bool serving() {
    std::lock_guard lock(m_mutex);
    return m_state == State::serving;
  }

  core::Result<core::Fd> open() {
    std::unique_lock lock(m_mutex);
    m_request = true;
    m_changed.notify_all();
    m_changed.wait(lock, [this] { return !m_request; });
    const int fd = std::exchange(m_fd, -1);
    if (fd < 0) return core::Error::from_errno("socket (VM socket namespace)", m_errno);
    return core::Fd(fd);
  }

 private:
  enum class State { starting, serving, failed };

  void run() {
    std::optional<std::string> failure = enter();
    std::unique_lock lock(m_mutex);
    if (failure) {
      m_failure = *failure;
      m_state = State::failed;
      m_changed.notify_all();
      return;
    }
    m_state = State::serving;
    m_changed.notify_all();
    for (;;) {
      m_changed.wait(lock, [this] { return m_request; });
      m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      m_errno = errno;
      m_request = false;
      m_changed.notify_all();
    }
  }

  // This thread into a new network namespace with the queue limit set, and without any
  // capability from then on. An error text when it cannot.
  static std::optional<std::string> enter() {
    if (::unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    {
      std::ofstream sysctl("/proc/sys/net/unix/max_dgram_qlen");
      sysctl << k_vm_socket_queue << '\n';
      sysctl.flush();
      if (!sysctl) return std::string("cannot set net.unix.max_dgram_qlen in the namespace");
    }
    // Capabilities are per thread: this one keeps none — bounding set (while it still has
    // CAP_SETPCAP), no_new_privs, then permitted and effective — so the daemon's own drop
    // (privileges.hpp) finds no other thread holding any. It only ever calls socket(2).
    const auto max = static_cast<cap_value_t>(cap_max_bits());
    for (cap_value_t cap = 0; cap < max; ++cap) {
      if (cap_get_bound(cap) == 1 && cap_drop_bound(cap) != 0) {
        return std::string("cannot drop the thread's bounding set: ") + std::strerror(errno);
      }
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      return std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno);
    cap_t none = cap_init();
    const bool dropped = none != nullptr && cap_set_proc(none) == 0;
    if (none != nullptr) cap_free(none);
    if (!dropped) return std::string("cannot drop the thread's capabilities: ") + std::strerror(errno);
    return std::nullopt;
  }

  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::thread m_thread;
  State m_state = State::starting;
  std::string m_failure;
  bool m_request = false;
  int m_fd = -1;
  int m_errno = 0;
};

SocketNamespace& socket_namespace() {
  static auto* instance = new SocketNamespace();  // never destroyed: its thread outlives main
  return *instance;
}

bool g_started = false;

}  // namespace

std::string start_vm_sockets() {
  if (g_started) return "already started";
  g_started = true;
  return socket_namespace().start();
}

core::Result<core::Fd> open_vm_socket() {
  if (g_started && socket_namespace().serving()) return socket_namespace().open();
  return open_socket(AF_UNIX, SOCK_DGRAM, Blocking::non_blocking);
}

std::size_t vm_socket_queue() { return g_started && socket_namespace().serving() ? k_vm_socket_queue : 0; }

}  // namespace squib::platform
