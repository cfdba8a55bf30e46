// Catch2's main for squib_unit_tests (tests/unit/CMakeLists.txt); the tests are in the
// <folder>/<file>_test.cpp files that mirror lib/squib and proto/squib.
#define CATCH_CONFIG_MAIN
#include "support/catch.hpp"
