# Warnings on everywhere for our own code; third-party code (lwIP) opts out explicitly.
add_library(udptun_warnings INTERFACE)
target_compile_options(udptun_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wformat=2 -Wundef
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wold-style-cast>)
