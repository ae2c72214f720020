# Cross-build for ARM64 Linux with Debian's crossbuild-essential-arm64 against the :arm64
# -dev packages (multiarch: libraries in /usr/lib/aarch64-linux-gnu, headers in /usr/include).
# Programs built here run under QEMU user emulation: ctest and the man-page step prefix them
# with CMAKE_CROSSCOMPILING_EMULATOR; the tests' harness reads UDPTUN_TEST_EMULATOR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# The target's libraries only, never the build machine's.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# No -L / QEMU_LD_PREFIX: the programs find the arm64 loader and libraries where the :arm64
# packages put them (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu). Pointing qemu at
# the cross toolchain's /usr/aarch64-linux-gnu instead pairs that loader with the multiarch
# libc.so.6 of another glibc build, and pthread_create then spins forever.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/qemu-aarch64-static)
