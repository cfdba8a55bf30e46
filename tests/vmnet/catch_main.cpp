// Catch2 v2 main for vmnet_backend_test (Debian 12 ships Catch2 2.13).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
