#pragma once

// The leases dnsmasq has given, read from its lease file (--dhcp-leasefile), for
// `subscribe`'s `lease` events. dnsmasq rewrites the whole file on every change (dnsmasq
// lease.c lease_update_file: one line per lease, "EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID",
// `*` for an unknown hostname or client id; IPv6 lines follow a "duid" line).
//
// DnsmasqLeaseWatch watches the file's directory (the file may not exist yet, and is
// replaced as well as rewritten) with uv_fs_event and, on each change to that file, reads it
// (a few hundred bytes per guest, on a local run dir) and reports every IPv4 lease.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include <squib/core/result.hpp>
#include <squib/uv/handle.hpp>

namespace squib::platform {

struct DnsmasqLease {
  std::string mac;       // lower case, as dnsmasq writes it
  std::string address;   // dotted quad
  std::string hostname;  // empty when the client sent none
  bool operator==(const DnsmasqLease&) const = default;
};

// The IPv4 leases of a lease file's text; lines that are not one are skipped.
std::vector<DnsmasqLease> parse_dnsmasq_leases(std::string_view text);

class DnsmasqLeaseWatch {
 public:
  using Changed = std::function<void(const std::vector<DnsmasqLease>& leases)>;
  DnsmasqLeaseWatch(uv_loop_t* loop, std::string lease_path, Changed changed);
  DnsmasqLeaseWatch(const DnsmasqLeaseWatch&) = delete;
  DnsmasqLeaseWatch& operator=(const DnsmasqLeaseWatch&) = delete;
  core::Result<void> start();

 private:
  void read();

  std::string m_path;
  std::string m_file_name;
  Changed m_changed;
  uv::Handle<uv_fs_event_t> m_watch;
};

}  // namespace squib::platform
