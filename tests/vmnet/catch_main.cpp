// Catch2's main for vmnet_backend_test (tests/vmnet/CMakeLists.txt).
// Catch2 v2 compiles its implementation here (CATCH_CONFIG_RUNNER: all but main); v3 has it
// in its library and ignores the macro. The same main serves both (tests/support/catch.hpp).
#define CATCH_CONFIG_RUNNER
#include "support/catch.hpp"

int main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
