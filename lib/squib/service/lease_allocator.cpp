#include <squib/service/lease_allocator.hpp>

#include <arpa/inet.h>

#include <squib/core/fnv1a.hpp>

namespace squib::service {

using core::Error;

const std::string* LeaseAllocator::held_by_other(std::uint32_t address, const std::string& name) const {
  for (const auto& [other, lease] : m_leases) {
    if (lease.address == address && other != name) return &other;
  }
  return nullptr;
}

core::Result<std::uint32_t> LeaseAllocator::assign(const std::string& name, const std::string& mac,
                                                   const std::optional<std::string>& requested) {
  std::uint32_t address = 0;
  if (requested) {
    // Asked for (or recorded at the first start and restored): exactly this one, or an error.
    in_addr parsed{};
    if (::inet_pton(AF_INET, requested->c_str(), &parsed) != 1) {
      return Error{EINVAL, "address: must be a literal IPv4 address"};
    }
    address = ntohl(parsed.s_addr);
    if (!m_subnet.contains(address) || address == m_subnet.network || address == m_subnet.broadcast()) {
      return Error{EINVAL, "address: " + *requested + " is not a host address of network '" + m_network + "' (" +
                               m_subnet.to_string() + ")"};
    }
    if (address == m_subnet.gateway()) {
      return Error{EINVAL, "address: " + *requested + " is the gateway of network '" + m_network + "'"};
    }
    if (m_range && (address < m_range->first || address > m_range->second)) {
      return Error{EINVAL, "address: " + *requested + " is outside this host's DHCP range " +
                               core::ipv4_to_string(m_range->first) + "-" + core::ipv4_to_string(m_range->second) +
                               " of network " + m_network};
    }
    if (const std::string* other = held_by_other(address, name)) {
      return Error{EINVAL, "address: " + *requested + " is already used by attachment '" + *other + "'"};
    }
  } else {
    // Derived: FNV-1a of the MAC into the DHCP range, probing past addresses in use.
    if (!m_dhcp) {
      return Error{EINVAL, "address: network " + m_network + " serves no DHCP on this host; name the guest's address"};
    }
    const std::uint32_t first = m_range ? m_range->first : m_subnet.dhcp_first();
    const std::uint32_t size = (m_range ? m_range->second : m_subnet.dhcp_last()) - first + 1;
    for (std::uint32_t probe = 0; probe < size && address == 0; ++probe) {
      const std::uint32_t candidate = first + static_cast<std::uint32_t>((core::fnv1a64(mac) + probe) % size);
      if (held_by_other(candidate, name) == nullptr) address = candidate;
    }
    if (address == 0) return Error{ENOSPC, "network " + m_network + " has no free address"};
  }
  m_leases[name] = Lease{mac, address};
  return address;
}

}  // namespace squib::service
