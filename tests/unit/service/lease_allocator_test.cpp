// Tests of squib/service/lease_allocator.hpp: which address each attachment of a network
// gets — exactly the one it names, else one derived from its MAC — and every refusal.

#include <squib/service/lease_allocator.hpp>

#include <cerrno>
#include <string>

#include "support/catch.hpp"

namespace {

using squib::core::ipv4_to_string;
using squib::core::Ipv4Subnet;
using squib::service::LeaseAllocator;

constexpr const char* k_mac = "52:54:00:12:34:56";
constexpr const char* k_other_mac = "02:00:00:00:00:01";

LeaseAllocator allocator_for(const char* cidr) {
  return LeaseAllocator("net1", squib::core::Ipv4Subnet::parse(cidr).value());
}

std::string assigned(LeaseAllocator& leases, const std::string& name, const std::string& mac,
                     const std::optional<std::string>& requested = std::nullopt) {
  auto address = leases.assign(name, mac, requested);
  if (!address) return "error " + std::to_string(address.error().code) + ": " + address.error().message;
  return squib::core::ipv4_to_string(address.value());
}

}  // namespace

TEST_CASE("LeaseAllocator derives an address from the MAC", "[service]") {
  auto leases = allocator_for("192.168.105.0/24");
  // FNV-1a-64 of the MAC text mod 253 (the size of .2–.254), from .2. Literal values: a
  // change here moves the addresses of every VM that has not recorded one.
  CHECK(assigned(leases, "vm1", k_mac) == "192.168.105.214");
  CHECK(assigned(leases, "vm2", k_other_mac) == "192.168.105.34");
  CHECK(leases.size() == 2);
  CHECK(leases.leases().at("vm1").mac == k_mac);

  SECTION("the same attachment again keeps its address") {
    CHECK(assigned(leases, "vm1", k_mac) == "192.168.105.214");
    CHECK(leases.size() == 2);
  }
  SECTION("a collision probes to the next free address") {
    // vm3 has vm1's MAC (a configured duplicate): its derived address is taken.
    CHECK(assigned(leases, "vm3", k_mac) == "192.168.105.215");
  }
  SECTION("a released address is free again") {
    leases.release("vm1");
    CHECK(assigned(leases, "vm3", k_mac) == "192.168.105.214");
  }
}

TEST_CASE("LeaseAllocator probing wraps around the DHCP range and finds the last free address", "[service]") {
  // 10.0.0.0/29: gateway .1, DHCP range .2–.6 (5 addresses).
  auto leases = allocator_for("10.0.0.0/29");
  for (const char* taken : {"10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6"}) {
    REQUIRE(assigned(leases, std::string("pinned-") + taken, k_other_mac, taken) == taken);
  }
  CHECK(assigned(leases, "vm", k_mac) == "10.0.0.4");
}

TEST_CASE("LeaseAllocator reports a full network", "[service]") {
  // A /30 leaves exactly one guest address (.6 of 10.0.0.4/30).
  auto leases = allocator_for("10.0.0.4/30");
  CHECK(assigned(leases, "vm1", k_mac) == "10.0.0.6");
  CHECK(assigned(leases, "vm2", k_other_mac) ==
        "error " + std::to_string(ENOSPC) + ": network net1 has no free address");
  CHECK(leases.size() == 1);
  leases.release("vm1");
  CHECK(assigned(leases, "vm2", k_other_mac) == "10.0.0.6");
}

TEST_CASE("LeaseAllocator honours a named (persisted) address exactly", "[service]") {
  auto leases = allocator_for("192.168.105.0/24");
  // Recorded in state.json at the first start: a restart asks for exactly it, even where the
  // MAC would derive another one.
  CHECK(assigned(leases, "vm1", k_mac, "192.168.105.200") == "192.168.105.200");
  CHECK(leases.leases().at("vm1").address == 0xc0a869c8U);  // host byte order

  SECTION("derived addresses step around it") {
    // vm2's MAC derives .34; pin .34 first to a named one and vm2 probes past it.
    CHECK(assigned(leases, "pinned", k_other_mac, "192.168.105.34") == "192.168.105.34");
    CHECK(assigned(leases, "vm2", k_other_mac) == "192.168.105.35");
  }
  SECTION("the same attachment may name its own address again") {
    CHECK(assigned(leases, "vm1", k_mac, "192.168.105.200") == "192.168.105.200");
  }
  SECTION("another attachment may not") {
    CHECK(assigned(leases, "vm2", k_other_mac, "192.168.105.200") ==
          "error " + std::to_string(EINVAL) + ": address: 192.168.105.200 is already used by attachment 'vm1'");
    CHECK(leases.size() == 1);
  }
}

TEST_CASE("LeaseAllocator refuses addresses that are not a guest's", "[service]") {
  auto leases = allocator_for("192.168.105.0/24");
  const std::string einval = "error " + std::to_string(EINVAL) + ": ";
  CHECK(assigned(leases, "vm", k_mac, "vm.example") == einval + "address: must be a literal IPv4 address");
  CHECK(assigned(leases, "vm", k_mac, "10.0.0.7") ==
        einval + "address: 10.0.0.7 is not a host address of network 'net1' (192.168.105.0/24)");
  CHECK(assigned(leases, "vm", k_mac, "192.168.105.0") ==
        einval + "address: 192.168.105.0 is not a host address of network 'net1' (192.168.105.0/24)");
  CHECK(assigned(leases, "vm", k_mac, "192.168.105.255") ==
        einval + "address: 192.168.105.255 is not a host address of network 'net1' (192.168.105.0/24)");
  CHECK(assigned(leases, "vm", k_mac, "192.168.105.1") ==
        einval + "address: 192.168.105.1 is the gateway of network 'net1'");
  CHECK(leases.empty());
}

TEST_CASE("a network's DHCP slice: derived addresses inside it, requested ones refused outside it, and no DHCP",
          "[service][lease_allocator]") {
  LeaseAllocator leases = allocator_for("10.70.0.0/24");
  leases.set_range(squib::core::parse_ipv4("10.70.0.100").value(), squib::core::parse_ipv4("10.70.0.101").value());
  const std::string first = assigned(leases, "a", k_mac);
  const std::string second = assigned(leases, "b", k_other_mac);
  CHECK((first == "10.70.0.100" || first == "10.70.0.101"));
  CHECK((second == "10.70.0.100" || second == "10.70.0.101"));
  CHECK(first != second);
  CHECK(assigned(leases, "c", "02:00:00:00:00:02") ==
        "error " + std::to_string(ENOSPC) + ": network net1 has no free address");
  CHECK(assigned(leases, "d", "02:00:00:00:00:03", "10.70.0.20") ==
        "error " + std::to_string(EINVAL) +
            ": address: 10.70.0.20 is outside this host's DHCP range 10.70.0.100-10.70.0.101 of network net1");

  LeaseAllocator none = allocator_for("10.73.0.0/24");
  none.set_no_dhcp();
  CHECK(assigned(none, "a", k_mac) ==
        "error " + std::to_string(EINVAL) +
            ": address: network net1 serves no DHCP on this host; name the guest's address");
  CHECK(assigned(none, "a", k_mac, "10.73.0.5") == "10.73.0.5");
}
