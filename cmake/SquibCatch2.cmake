# squib_catch2: the Catch2 that every test executable links, with SQUIB_CATCH2_MAJOR=2|3 for
# tests/support/catch.hpp. Two majors because Debian 12 (here and in CI) ships Catch2 v2.13
# and Homebrew (macOS) ships v3; v3 is preferred when both are found. Each test executable
# has its own main (Catch::Session), so v3's Catch2::Catch2, not Catch2::Catch2WithMain.
# Used by tests/CMakeLists.txt and by tests/vmnet built standalone.
include_guard(GLOBAL)

find_package(Catch2 3 QUIET)
if(NOT Catch2_FOUND)
  find_package(Catch2 2 REQUIRED)
endif()
message(STATUS "Catch2 ${Catch2_VERSION} (${Catch2_DIR})")

add_library(squib_catch2 INTERFACE)
target_link_libraries(squib_catch2 INTERFACE Catch2::Catch2)
target_compile_definitions(squib_catch2 INTERFACE SQUIB_CATCH2_MAJOR=${Catch2_VERSION_MAJOR})

# Arguments that make a Catch2 run whose test spec matches nothing fail instead of passing
# silently (catch_discover_tests EXTRA_ARGS). v3 removed `--warn NoTests` (an unknown warning
# is an error there) and fails a run of 0 tests by itself; UnmatchedTestSpec says so per spec.
if(Catch2_VERSION_MAJOR GREATER_EQUAL 3)
  set(SQUIB_CATCH2_FAIL_UNMATCHED --warn UnmatchedTestSpec)
else()
  set(SQUIB_CATCH2_FAIL_UNMATCHED --warn NoTests)
endif()
