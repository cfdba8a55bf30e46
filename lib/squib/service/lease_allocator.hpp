#pragma once

// LeaseAllocator: the static DHCP addresses of one host/shared network's attachments
// (attachment name → MAC and address). Pure bookkeeping: no I/O, no kernel, no dnsmasq
// (the caller writes what it assigns to dnsmasq's hosts directory).
//
// - An attachment that names an address (asked for, or recorded in state.json at its first
//   start and restored) gets exactly that one, or an EINVAL Error whose message starts with
//   `address:` (the factory maps it to -32602): it must be a literal IPv4 host address of
//   the subnet (not the network or broadcast address), not the gateway, and not held by
//   another attachment. It may lie outside the DHCP range.
// - Otherwise its address is derived from its MAC: FNV-1a of the MAC into the DHCP range
//   (core::Ipv4Subnet::dhcp_first..dhcp_last), probed linearly past addresses held by others. The
//   MAC is stable per attachment name, so a VM gets the same address after a stop/start or a
//   daemon restart. A full range is ENOSPC.
// - Assigning to a name that already holds a lease replaces it (its own address is free to
//   it).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/result.hpp>

namespace squib::service {

class LeaseAllocator {
 public:
  struct Lease {
    std::string mac;            // "02:…", as dnsmasq's hosts file takes it
    std::uint32_t address = 0;  // host byte order
  };

  // `network_name` only names the network in error messages.
  LeaseAllocator(std::string network_name, core::Ipv4Subnet subnet)
      : m_network(std::move(network_name)), m_subnet(subnet) {}

  // This host's DHCP slice of the subnet (issue 15, `dhcp.range`, host order): derived
  // addresses come from it and a requested one must lie in it. Without one, the subnet's
  // whole range, and a requested address may lie anywhere in the subnet.
  void set_range(std::uint32_t first, std::uint32_t last) { m_range = {first, last}; }
  // No DHCP on this host (`dhcp: false`): every attachment must name its address.
  void set_no_dhcp() { m_dhcp = false; }

  // Assigns attachment `name` (with `mac`) an address as described above and records it.
  core::Result<std::uint32_t> assign(const std::string& name, const std::string& mac,
                                     const std::optional<std::string>& requested);
  // Forgets the lease of `name` (none: nothing happens).
  void release(const std::string& name) { m_leases.erase(name); }

  [[nodiscard]] bool empty() const { return m_leases.empty(); }
  [[nodiscard]] std::size_t size() const { return m_leases.size(); }
  [[nodiscard]] const std::map<std::string, Lease>& leases() const { return m_leases; }

 private:
  // The attachment other than `name` that holds `address`, or nullptr.
  [[nodiscard]] const std::string* held_by_other(std::uint32_t address, const std::string& name) const;

  std::string m_network;
  core::Ipv4Subnet m_subnet;
  std::optional<std::pair<std::uint32_t, std::uint32_t>> m_range;
  bool m_dhcp = true;
  std::map<std::string, Lease> m_leases;  // by attachment name
};

}  // namespace squib::service
