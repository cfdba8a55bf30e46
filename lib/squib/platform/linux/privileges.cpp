#include <squib/platform/linux/privileges.hpp>

#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace squib::platform {

using core::Error;
using core::Result;

namespace {

// Owns a cap_t (libcap allocates it; cap_free releases it).
struct CapFree {
  void operator()(void* caps) const { cap_free(caps); }
};
using Caps = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// cap_to_name() spells unknown (newer-than-libcap) capabilities as their number.
std::string name_of(cap_value_t cap) {
  std::unique_ptr<char, CapFree> name(cap_to_name(cap));
  return name ? std::string(name.get()) : std::to_string(cap);
}

std::string join(const std::vector<cap_value_t>& caps) {
  std::string out;
  for (const cap_value_t cap : caps) {
    if (!out.empty()) out += ',';
    out += name_of(cap);
  }
  return out.empty() ? "none" : out;
}

std::vector<cap_value_t> caps_in(cap_t caps, cap_flag_t flag) {
  std::vector<cap_value_t> out;
  const auto max = static_cast<cap_value_t>(cap_max_bits());
  for (cap_value_t cap = 0; cap < max; ++cap) {
    cap_flag_value_t value = CAP_CLEAR;
    if (cap_get_flag(caps, cap, flag, &value) == 0 && value == CAP_SET) out.push_back(cap);
  }
  return out;
}

// Threads other than the caller that hold any capability (permitted, effective or bounding,
// from /proc/self/task/TID/status). The VM socket thread (platform/vm_socket.hpp) holds none
// by the time the daemon drops its own.
std::size_t privileged_other_threads() {
  const auto self = std::to_string(::gettid());
  std::error_code ec;
  std::size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec); !ec && it != std::filesystem::end(it);
       it.increment(ec)) {
    if (it->path().filename() == self) continue;
    std::ifstream status(it->path() / "status");
    std::string line;
    bool privileged = !status;  // unreadable: assume the worst
    while (std::getline(status, line)) {
      for (const char* field : {"CapPrm:", "CapEff:", "CapBnd:"}) {
        if (line.starts_with(field) && std::stoull(line.substr(std::strlen(field)), nullptr, 16) != 0)
          privileged = true;
      }
    }
    count += privileged ? 1 : 0;
  }
  return count;
}

}  // namespace

const std::vector<KeptCapability>& kept_capabilities() {
  // Each entry: who needs it, for what. The evidence (the test that fails without it) is
  // in docs/security.md; the list was found by removing one capability at a time.
  static const std::vector<KeptCapability> kept = {
      {"cap_net_admin", true,
       "TAP devices, bridges and addresses over rtnetlink, nft tables, SO_SNDBUFFORCE/SO_RCVBUFFORCE; "
       "dnsmasq refuses to start without it"},
      {"cap_chown", true, "lchown of each per-VM socket to the caller; dnsmasq chowns its pid file"},
      {"cap_dac_override", true,
       "sending frames to an unprivileged VMM's own socket (owner-only mode, often in a 0700 directory)"},
      {"cap_kill", true, "signalling children that switched to nobody (passt, dnsmasq) and a dead daemon's dnsmasq"},
      {"cap_net_raw", false, "dnsmasq (DHCP): refuses to start without it"},
      {"cap_net_bind_service", false, "dnsmasq: DHCP port 67 and DNS port 53"},
      {"cap_setuid", false, "passt and dnsmasq switch from root to nobody"},
      {"cap_setgid", false, "passt and dnsmasq switch from root to nobody (setgroups, setgid)"},
  };
  return kept;
}

Result<PrivilegeState> current_privileges() {
  Caps caps(cap_get_proc());
  if (!caps) return Error::from_errno("cap_get_proc");
  PrivilegeState state;
  state.effective = join(caps_in(caps.get(), CAP_EFFECTIVE));
  state.permitted = join(caps_in(caps.get(), CAP_PERMITTED));
  std::vector<cap_value_t> bounding;
  const auto max = static_cast<cap_value_t>(cap_max_bits());
  for (cap_value_t cap = 0; cap < max; ++cap) {
    if (cap_get_bound(cap) == 1) bounding.push_back(cap);
  }
  state.bounding = join(bounding);
  state.no_new_privs = ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
  return state;
}

Result<PrivilegeState> drop_privileges() {
  if (const auto threads = privileged_other_threads(); threads != 0) {
    return Error{EBUSY, "cannot drop capabilities: " + std::to_string(threads) +
                            " other threads hold capabilities, and capabilities are per thread"};
  }
  Caps current(cap_get_proc());
  if (!current) return Error::from_errno("cap_get_proc");

  std::vector<cap_value_t> permitted;
  std::vector<cap_value_t> effective;
  std::vector<std::string> missing;
  for (const auto& kept : kept_capabilities()) {
    cap_value_t cap = 0;
    if (cap_from_name(kept.name, &cap) != 0) return Error{EINVAL, std::string("libcap does not know ") + kept.name};
    cap_flag_value_t have = CAP_CLEAR;
    if (cap_get_flag(current.get(), cap, CAP_PERMITTED, &have) != 0 || have != CAP_SET) {
      missing.emplace_back(kept.name);
      continue;
    }
    permitted.push_back(cap);
    if (kept.daemon_uses) effective.push_back(cap);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& name : missing) list += (list.empty() ? "" : ",") + name;
    return Error{EPERM, "cannot keep " + list + ": not in the permitted set (is squib-netd running as root?)"};
  }
  std::sort(permitted.begin(), permitted.end());
  std::sort(effective.begin(), effective.end());

  // 1. no_new_privs first: from here on no exec can gain what we are about to drop.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error::from_errno("prctl(PR_SET_NO_NEW_PRIVS)");

  // 2. Bounding set (needs CAP_SETPCAP in the effective set, so before the capset below).
  const auto max = static_cast<cap_value_t>(cap_max_bits());
  for (cap_value_t cap = 0; cap < max; ++cap) {
    if (std::find(permitted.begin(), permitted.end(), cap) != permitted.end()) continue;
    if (cap_get_bound(cap) != 1) continue;
    if (cap_drop_bound(cap) != 0) return Error::from_errno("drop " + name_of(cap) + " from the bounding set");
  }

  // 3. Ambient set: cleared (PR_CAP_AMBIENT_CLEAR_ALL needs no privilege; EINVAL = a kernel
  //    before 4.3 without ambient capabilities, nothing to clear).
  if (cap_reset_ambient() != 0 && errno != EINVAL) return Error::from_errno("clear the ambient capability set");

  // 4. Permitted, effective and (empty) inheritable sets in one capset.
  Caps wanted(cap_init());
  if (!wanted) return Error::from_errno("cap_init");
  if (cap_set_flag(wanted.get(), CAP_PERMITTED, static_cast<int>(permitted.size()), permitted.data(), CAP_SET) != 0 ||
      cap_set_flag(wanted.get(), CAP_EFFECTIVE, static_cast<int>(effective.size()), effective.data(), CAP_SET) != 0) {
    return Error::from_errno("cap_set_flag");
  }
  if (cap_set_proc(wanted.get()) != 0) return Error::from_errno("cap_set_proc");

  // 5. Read back what the kernel holds now: the log line and the caller's checks use it.
  auto state = current_privileges();
  if (!state) return state;
  if (state->effective != join(effective) || state->permitted != join(permitted) ||
      state->bounding != join(permitted) || !state->no_new_privs) {
    return Error{EPERM, "capabilities after the drop are not what was asked: effective " + state->effective +
                            ", permitted " + state->permitted + ", bounding " + state->bounding};
  }
  return state;
}

}  // namespace squib::platform
