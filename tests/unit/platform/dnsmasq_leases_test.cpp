// platform/linux/dnsmasq_leases: the lease file as dnsmasq writes it (lease.c
// lease_update_file), IPv4 lines only.

#include <squib/platform/linux/dnsmasq_leases.hpp>

#include "support/catch.hpp"

using squib::platform::DnsmasqLease;
using squib::platform::parse_dnsmasq_leases;

TEST_CASE("dnsmasq leases: IPv4 lines read, hostname '*' is none, the rest skipped", "[platform][dnsmasq]") {
  const auto leases = parse_dnsmasq_leases(
      "1796112000 02:87:98:c5:4e:19 192.168.105.94 guest 01:02:87:98:c5:4e:19\n"
      "1796112001 02:00:00:00:00:02 192.168.105.95 * *\n"
      "duid 00:01:00:01:2c:aa:bb:cc:dd:ee:ff:00\n"
      "1796112002 1234 fd00::5 guest6 00:01\n"
      "garbage\n");
  CHECK(leases == std::vector<DnsmasqLease>{{"02:87:98:c5:4e:19", "192.168.105.94", "guest"},
                                            {"02:00:00:00:00:02", "192.168.105.95", ""}});
  CHECK(parse_dnsmasq_leases("").empty());
}
