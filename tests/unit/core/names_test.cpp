// Tests of squib/core/names.hpp: names become file names and interface-name fragments, so
// only [A-Za-z0-9_.-]{1,64}, never "." or "..".

#include <squib/core/names.hpp>

#include <string>
#include <string_view>

#include "support/catch.hpp"

using squib::core::is_valid_name;
using squib::core::k_max_name_length;

TEST_CASE("is_valid_name accepts [A-Za-z0-9_.-]{1,64}", "[core][names]") {
  const auto name = GENERATE(as<std::string>{}, "a", "Z", "0", "vm1", "my-vm_2.test", "-", "_", "...", ".hidden",
                             "a..b", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                             std::string(64, 'x'));
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
    const auto name = GENERATE(as<std::string>{}, "a/b", "/", "../etc", "a b", "a\tb", "a\nb", "a:b", "a*",
                               "a\\b", "vm$", "\xc3\xa4", "a@b", "a+b", "a~", "a%2f");
    INFO("name: '" << name << "'");
    CHECK_FALSE(is_valid_name(name));
  }
  SECTION("an embedded NUL") {
    CHECK_FALSE(is_valid_name(std::string_view("vm\0x", 4)));
  }
}
