// Tests of squib/core/mac_address.hpp: strict parsing, formatting, and the name-derived
// MAC that a VM keeps across daemon restarts.

#include <squib/core/mac_address.hpp>

#include <set>
#include <string>
#include <string_view>

#include "support/catch.hpp"

namespace Catch {
template <>
struct StringMaker<squib::core::MacAddress> {
  static std::string convert(const squib::core::MacAddress& mac) { return mac.to_string(); }
};
}  // namespace Catch

namespace {
using squib::core::MacAddress;
}  // namespace

TEST_CASE("MacAddress::parse accepts six colon-separated hex pairs", "[core][mac_address]") {
  SECTION("lower case") {
    CHECK(MacAddress::parse("02:00:00:00:00:01") == MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01}));
  }
  SECTION("upper case") {
    CHECK(MacAddress::parse("AA:BB:CC:DD:EE:FF") == MacAddress({0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}));
  }
  SECTION("mixed case and every digit") {
    CHECK(MacAddress::parse("0a:1B:2c:3D:4e:59") == MacAddress({0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x59}));
    CHECK(MacAddress::parse("67:89:fF:Ff:00:00") == MacAddress({0x67, 0x89, 0xff, 0xff, 0x00, 0x00}));
  }
  SECTION("all zero and broadcast parse (policy is the caller's)") {
    CHECK(MacAddress::parse("00:00:00:00:00:00") == MacAddress{});
    CHECK(MacAddress::parse("ff:ff:ff:ff:ff:ff")->is_broadcast());
  }
}

TEST_CASE("MacAddress::parse rejects every other form", "[core][mac_address]") {
  const auto rejected = GENERATE(as<std::string>{},
                                 "",                     // empty
                                 "02:00:00:00:00",       // five groups
                                 "02:00:00:00:00:0",     // 16 characters
                                 "02:00:00:00:00:011",   // 18 characters
                                 "02:00:00:00:00:01:",   // trailing separator
                                 "02-00-00-00-00-01",    // dashes
                                 "02.00.00.00.00.01",    // dots
                                 "0200.0000.0001",       // Cisco form
                                 "020000000001",         // no separators
                                 "02:000:00:00:0:01",    // 17 characters, groups misaligned
                                 "g2:00:00:00:00:01",    // not hex
                                 "02:00:00:00:00:0g",    // not hex, last digit
                                 " 2:00:00:00:00:01",    // space
                                 "02:00:00:00:00:1 ",    // space at the end
                                 "+2:00:00:00:00:01",    // sign
                                 "02::0:00:00:00:01");   // empty group
  INFO("input: '" << rejected << "'");
  CHECK_FALSE(MacAddress::parse(rejected));
}

TEST_CASE("MacAddress::parse rejects an embedded NUL", "[core][mac_address]") {
  const std::string_view with_nul("02:00:00:00:00:0\0", 17);
  CHECK_FALSE(MacAddress::parse(with_nul));
}

TEST_CASE("MacAddress::to_string is lower case, zero padded, and round-trips", "[core][mac_address]") {
  SECTION("exact text") {
    CHECK(MacAddress({0x02, 0x00, 0x0a, 0xb0, 0xff, 0x01}).to_string() == "02:00:0a:b0:ff:01");
    CHECK(MacAddress{}.to_string() == "00:00:00:00:00:00");
  }
  SECTION("parse(to_string(m)) == m") {
    const MacAddress mac = GENERATE(MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01}),
                                    MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
                                    MacAddress({0x52, 0x54, 0x00, 0x12, 0x34, 0x56}),
                                    MacAddress({0xde, 0xad, 0xbe, 0xef, 0x0a, 0x0b}));
    CHECK(MacAddress::parse(mac.to_string()) == mac);
  }
  SECTION("to_string(parse(text)) normalises case") {
    CHECK(MacAddress::parse("DE:AD:BE:EF:0A:0B")->to_string() == "de:ad:be:ef:0a:0b");
  }
}

TEST_CASE("MacAddress classification", "[core][mac_address]") {
  CHECK(MacAddress({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}).is_multicast());
  CHECK(MacAddress({0x33, 0x33, 0x00, 0x00, 0x00, 0x01}).is_multicast());
  CHECK_FALSE(MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01}).is_multicast());
  CHECK(MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).is_broadcast());
  CHECK(MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).is_multicast());
  CHECK_FALSE(MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}).is_broadcast());
  CHECK(MacAddress{}.is_zero());
  CHECK_FALSE(MacAddress({0x00, 0x00, 0x00, 0x00, 0x00, 0x01}).is_zero());
}

TEST_CASE("MacAddress::derive_from_name", "[core][mac_address]") {
  SECTION("is stable: the exact bytes are part of the contract (a VM keeps its DHCP lease)") {
    // FNV-1a-64 of the name, low five bytes, after 02 (computed independently in Python).
    CHECK(MacAddress::derive_from_name("vm1").to_string() == "02:87:98:c5:4e:19");
    CHECK(MacAddress::derive_from_name("vm2").to_string() == "02:3a:9a:c5:4e:19");
    CHECK(MacAddress::derive_from_name("default").to_string() == "02:fe:c5:20:86:16");
    CHECK(MacAddress::derive_from_name("a").to_string() == "02:8c:ec:01:86:4c");
    CHECK(MacAddress::derive_from_name("vm1") == MacAddress::derive_from_name("vm1"));
  }
  SECTION("is a locally administered unicast address") {
    const auto name = GENERATE(as<std::string>{}, "vm1", "a", "builder-07", std::string(64, 'z'));
    const auto mac = MacAddress::derive_from_name(name);
    INFO(name << " -> " << mac.to_string());
    CHECK(mac.bytes()[0] == 0x02);
    CHECK((mac.bytes()[0] & 0x02U) != 0);  // U/L bit: locally administered
    CHECK_FALSE(mac.is_multicast());       // I/G bit clear: unicast
    CHECK_FALSE(mac.is_zero());
  }
  SECTION("differs across names") {
    CHECK(MacAddress::derive_from_name("vm1") != MacAddress::derive_from_name("vm2"));
    CHECK(MacAddress::derive_from_name("vm1") != MacAddress::derive_from_name("VM1"));
    CHECK(MacAddress::derive_from_name("ab") != MacAddress::derive_from_name("ba"));
    // 1,000 sequential names: no two share a MAC.
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(MacAddress::derive_from_name("vm" + std::to_string(i)).to_string());
    CHECK(seen.size() == 1000);
  }
}
