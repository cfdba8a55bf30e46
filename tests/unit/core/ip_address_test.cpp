// Tests of squib/core/ip_address.hpp: the one IP-literal parser of proto and platform.

#include <squib/core/ip_address.hpp>

#include <string>
#include <string_view>

#include "support/catch.hpp"

using squib::core::IpAddress;
using squib::core::parse_ip_address;

TEST_CASE("parse_ip_address: IPv4 literals are 4 bytes in network order", "[ip_address]") {
  const auto address = parse_ip_address("10.215.0.1");
  REQUIRE(address);
  CHECK_FALSE(address->ipv6);
  CHECK(address->size() == 4);
  CHECK(address->bytes[0] == 10);
  CHECK(address->bytes[1] == 215);
  CHECK(address->bytes[2] == 0);
  CHECK(address->bytes[3] == 1);
  CHECK(address->bytes[4] == 0);  // the rest stays zero, so == compares only what was parsed
  CHECK(std::string(address->family_name()) == "IPv4");
}

TEST_CASE("parse_ip_address: IPv6 literals are 16 bytes", "[ip_address]") {
  const auto address = parse_ip_address("fd00:215::2");
  REQUIRE(address);
  CHECK(address->ipv6);
  CHECK(address->size() == 16);
  CHECK(address->bytes[0] == 0xfd);
  CHECK(address->bytes[3] == 0x15);
  CHECK(address->bytes[15] == 2);
  CHECK(std::string(address->family_name()) == "IPv6");
}

TEST_CASE("parse_ip_address: anything else is nullopt", "[ip_address]") {
  for (const char* text :
       {"", "10.0.0", "10.0.0.256", "10.0.0.1/24", " 10.0.0.1", "host.example", "fd00::1::2", "10.0.0.1\n"}) {
    INFO(text);
    CHECK_FALSE(parse_ip_address(text));
  }
  // A NUL inside the view is not a terminator: the whole text must be an address.
  CHECK_FALSE(parse_ip_address(std::string_view("10.0.0.1\0junk", 13)));
}

TEST_CASE("IpAddress: multicast ranges and equality", "[ip_address]") {
  CHECK(parse_ip_address("224.0.0.1")->is_multicast());
  CHECK(parse_ip_address("239.1.1.1")->is_multicast());
  CHECK_FALSE(parse_ip_address("223.255.255.255")->is_multicast());
  CHECK_FALSE(parse_ip_address("240.0.0.1")->is_multicast());
  CHECK(parse_ip_address("ff02::1")->is_multicast());
  CHECK_FALSE(parse_ip_address("fe80::1")->is_multicast());
  CHECK(parse_ip_address("10.0.0.1") == parse_ip_address("10.0.0.1"));
  CHECK_FALSE(parse_ip_address("10.0.0.1") == parse_ip_address("10.0.0.2"));
  // ::ffff:10.0.0.1 is an IPv6 address, not the IPv4 one.
  CHECK_FALSE(parse_ip_address("::ffff:10.0.0.1") == parse_ip_address("10.0.0.1"));
}
