#pragma once

// Least privilege for squib-netd on Linux: after start-up (run dir locked, state restored,
// control socket listening) the daemon keeps only the capabilities that it and the children
// it spawns later still need, and sets PR_SET_NO_NEW_PRIVS. docs/security.md has the
// threat model; tests/integration/abuse_test.cpp proves the set is enough and no larger.
//
// Theory of operation
//
// The daemon stays uid 0: its run dir, lock, state file and sockets are root's, and the
// children (passt, dnsmasq) must start as root to switch to `nobody` themselves. What shrinks
// is what uid 0 may do (capabilities(7)):
//
//   - bounding set = permitted set = k_kept_capabilities. A root process that execs a program
//     without file capabilities gets permitted = bounding set (the "root is all-powerful"
//     rule, capabilities(7) "Capabilities and execution of programs by root"), so the
//     bounding set is what every child starts with. With no_new_privs the kernel also caps a
//     child's permitted set at the daemon's permitted set (cap_bprm_creds_from_file), so both
//     must hold the children's needs.
//   - effective set = only the capabilities the daemon's own code uses (`daemon_uses`). The
//     others (what only dnsmasq and passt use) sit in the permitted set, unused by the
//     daemon: a confused-deputy bug in the daemon cannot, say, setuid() or bind port 53.
//   - inheritable and ambient sets are cleared: nothing is passed on except by the root
//     rule above, which the bounding set limits.
//   - PR_SET_NO_NEW_PRIVS: no exec by the daemon or a child gains privileges through a
//     set-uid binary or file capabilities (prctl(2)); it is inherited and cannot be undone.
//
// Capabilities are a per-thread attribute and libcap's cap_set_proc() changes only the
// calling thread, so drop_privileges() refuses to run while any other thread holds a
// capability (the daemon is a single libuv loop; libuv's thread pool is not started by
// then; the VM socket thread, platform/vm_socket.hpp, has dropped all of its own, bounding
// set included).
//
// Why libcap rather than raw capset(2)/prctl(2): capset's ABI is versioned
// (_LINUX_CAPABILITY_VERSION_3, two 32-bit words per set), glibc has no wrapper, the number
// of capabilities depends on the running kernel (cap_max_bits() reads
// /proc/sys/kernel/cap_last_cap) and the bounding/ambient prctls have their own quirks;
// capabilities(7) and capset(2) both direct programs to libcap, which also gives us
// cap_to_text() for the log line. Debian package libcap-dev (libcap 2.66).

#include <string>
#include <vector>

#include <squib/core/result.hpp>

namespace squib::platform {

// One capability the daemon keeps, and why (the reason is logged and documented).
struct KeptCapability {
  const char* name;   // "cap_net_admin", as cap_to_name() spells it
  bool daemon_uses;   // in the daemon's effective set (otherwise permitted/bounding only)
  const char* why;
};

// The kept set. Determined empirically: removing any one entry fails a test named in
// docs/security.md ("Privileges kept and why").
[[nodiscard]] const std::vector<KeptCapability>& kept_capabilities();

struct PrivilegeState {
  std::string effective;  // e.g. "cap_chown,cap_dac_override,cap_kill,cap_net_admin"
  std::string permitted;  // effective plus what only children use
  std::string bounding;   // what any exec'd child can ever hold
  bool no_new_privs = false;
};

// Drops to kept_capabilities() as described above and returns the state read back from the
// kernel. Fails (changing nothing, or at worst having dropped part of the bounding set) when
// a kept capability is not permitted to begin with, when the process is multi-threaded, or
// when a syscall fails. Start-up only: not for the loop.
core::Result<PrivilegeState> drop_privileges();

// The calling thread's capabilities and no_new_privs as the kernel reports them now.
core::Result<PrivilegeState> current_privileges();

}  // namespace squib::platform
