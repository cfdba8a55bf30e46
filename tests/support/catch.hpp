#pragma once

// The one place the test suite names its Catch2 version. Two majors are supported because
// Debian 12 (here and in CI) ships Catch2 v2.13, single header <catch2/catch.hpp>, and
// Homebrew (macOS) ships v3, <catch2/catch_all.hpp> and a compiled library. CMake picks one
// and says which (squib_catch2 in cmake/SquibCatch2.cmake); tests use v3's names, and the
// few v2 lacks are defined below.

#ifndef SQUIB_CATCH2_MAJOR
#error "SQUIB_CATCH2_MAJOR is not defined: link the test target with squib_catch2 (cmake/SquibCatch2.cmake)"
#endif

// Print std::optional values in failed assertions instead of "{?}".
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER

#if SQUIB_CATCH2_MAJOR >= 3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>

#include <string>

namespace Catch::Matchers {
// v3's name for the substring matcher (v2's Contains; in v3, Contains matches ranges).
inline StdString::ContainsMatcher ContainsSubstring(const std::string& str,
                                                    CaseSensitive::Choice cs = CaseSensitive::Yes) {
  return Contains(str, cs);
}
}  // namespace Catch::Matchers
#endif
