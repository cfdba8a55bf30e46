// Tests of squib/core/names.hpp: names become file names and interface-name fragments, so
// only [A-Za-z0-9_.-]{1,64}, never "." or "..".

#include <squib/core/names.hpp>

#include <string>
#include <string_view>

#include "support/catch.hpp"

using squib::core::is_valid_name;
using squib::core::k_max_name_length;

TEST_CASE("is_valid_name accepts [A-Za-z0-9_.-]{1,64}", "[core][names]") {
  const auto name =
      GENERATE(as<std::string>{}, "a", "Z", "0", "vm1", "my-vm_2.test", "-", "_", "...", ".hidden", "a..b",
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", std::string(64, 'x'));
  INFO("name: '" << name << "'");
  CHECK(is_valid_name(name));
}

TEST_CASE("is_valid_name rejects everything else", "[core][names]") {
  SECTION("empty, too long, and the directory names") {
    CHECK(k_max_name_length == 64);
    CHECK_FALSE(is_valid_name(""));
    CHECK_FALSE(is_valid_name(std::string(65, 'x')));
    CHECK_FALSE(is_valid_name("."));
    CHECK_FALSE(is_valid_name(".."));
  }
  SECTION("characters outside the set") {
    const auto name = GENERATE(as<std::string>{}, "a/b", "/", "../etc", "a b", "a\tb", "a\nb", "a:b", "a*", "a\\b",
                               "vm$", "\xc3\xa4", "a@b", "a+b", "a~", "a%2f");
    INFO("name: '" << name << "'");
    CHECK_FALSE(is_valid_name(name));
  }
  SECTION("an embedded NUL") { CHECK_FALSE(is_valid_name(std::string_view("vm\0x", 4))); }
}

TEST_CASE("DNS labels and domains follow RFC 1035 and 1123", "[core][names]") {
  for (const char* good : {"vm1", "a", "web-01", "A0"}) {
    INFO(good);
    CHECK(squib::core::is_valid_dns_label(good));
  }
  for (const char* bad : {"", "-a", "a-", "a_b", "a.b", "a b"}) {
    INFO(bad);
    CHECK_FALSE(squib::core::is_valid_dns_label(bad));
  }
  CHECK_FALSE(squib::core::is_valid_dns_label(std::string(64, 'a')));
  CHECK(squib::core::is_valid_dns_domain("squib.internal"));
  CHECK(squib::core::is_valid_dns_domain("lab"));
  for (const char* bad : {"", ".", "a..b", "a.", ".a", "a_b.c", "a.-b"}) {
    INFO(bad);
    CHECK_FALSE(squib::core::is_valid_dns_domain(bad));
  }
}
