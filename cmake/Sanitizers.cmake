# SQUIB_SANITIZE=ON builds everything with AddressSanitizer + UndefinedBehaviorSanitizer.
# UBSan is made fatal so a finding fails the test that triggered it.
option(SQUIB_SANITIZE "Build with ASan+UBSan" OFF)
add_library(squib_sanitizers INTERFACE)
if(SQUIB_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(squib_sanitizers INTERFACE ${_san})
  target_link_options(squib_sanitizers INTERFACE ${_san})
endif()
