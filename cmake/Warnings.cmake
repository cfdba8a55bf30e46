# squib_warnings: an INTERFACE target that our own targets link PRIVATE, so third-party
# headers and consumers never inherit our -Werror.
add_library(squib_warnings INTERFACE)
target_compile_options(squib_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
  -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
