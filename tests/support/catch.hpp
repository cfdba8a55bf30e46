#pragma once

// The one place the test suite names its Catch2 version. Debian 12 ships Catch2 v2.13
// (single header <catch2/catch.hpp>); a move to v3 (<catch2/catch_all.hpp>, or the finer
// headers) changes this file and the CMake target, not the tests.

// Print std::optional values in failed assertions instead of "{?}".
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <catch2/catch.hpp>
