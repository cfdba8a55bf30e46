// The Catch2 runner for every test executable of ours.
#define CATCH_CONFIG_MAIN
#include "support/catch.hpp"
