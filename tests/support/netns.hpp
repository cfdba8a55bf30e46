#pragma once

// InNewNetns: runs the constructor's caller in a new, unnamed network namespace, then
// returns this thread to the namespace it came from (leave()). Processes forked inside (a
// daemon and its children, `ip` commands) stay there; the namespace disappears with the
// last of them (and the DaemonProcess that holds it for restarts), so nothing a test
// creates in it can leak. Needs root.

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

namespace squib::test {

class InNewNetns {
 public:
  InNewNetns() {
    m_original = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(m_original >= 0);
    REQUIRE(::unshare(CLONE_NEWNET) == 0);
  }
  // Enters the network namespace of process `pid` instead (one a test made earlier, kept
  // alive by that process), e.g. to start a second daemon beside the first.
  explicit InNewNetns(pid_t pid) {
    m_original = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(m_original >= 0);
    const int target = ::open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(target >= 0);
    const int rc = ::setns(target, CLONE_NEWNET);
    ::close(target);
    REQUIRE(rc == 0);
  }
  ~InNewNetns() { leave(); }
  InNewNetns(const InNewNetns&) = delete;
  InNewNetns& operator=(const InNewNetns&) = delete;
  // Back to the original namespace; false if that failed (then the test must stop).
  bool leave() noexcept {
    if (m_original < 0) return true;
    const int rc = ::setns(m_original, CLONE_NEWNET);
    ::close(m_original);
    m_original = -1;
    return rc == 0;
  }

 private:
  int m_original = -1;
};

// Starts `daemon` (empty) in a network namespace of its own and returns the caller to its
// own: the daemon's bridges, TAPs, dnsmasq and nft tables exist only there.
inline void start_in_new_netns(std::optional<DaemonProcess>& daemon, const std::string& dir) {
  InNewNetns netns;
  daemon.emplace(dir);
  REQUIRE(netns.leave());
}

}  // namespace squib::test
