// Catch2's main for squib_platform_tests (tests/platform/CMakeLists.txt).
#define CATCH_CONFIG_MAIN
#include "support/catch.hpp"
