# The libraries Linux builds take from Debian's -dev packages, for Windows: each is built from
# its pinned Debian source package (upstream tarball + Debian's patches, as Debian builds it)
# with the same mingw-w64 toolchain, at configure time, into _deps/windows/ of the build tree.
# scripts/fetch-sources downloads the tarballs; their SHA-256 is checked here before use.
# Static libraries: the DLLs and programs we build then carry what they use.
set(UDPTUN_WINDOWS_PREFIX ${CMAKE_BINARY_DIR}/_deps/windows)
set(UDPTUN_SOURCES_DIR ${CMAKE_SOURCE_DIR}/.deps CACHE PATH "Where scripts/fetch-sources put the tarballs")

# name  upstream tarball + SHA-256  Debian tarball + SHA-256  CMake options
function(udptun_windows_dependency name orig orig_sha debian debian_sha)
  set(stamp ${UDPTUN_WINDOWS_PREFIX}/.${name}-built)
  set(stamp_text "${orig_sha};${debian_sha};${ARGN}")
  if(EXISTS ${stamp})
    file(READ ${stamp} old)
    if(old STREQUAL stamp_text)
      return()
    endif()
  endif()
  foreach(pair "${orig};${orig_sha}" "${debian};${debian_sha}")
    list(GET pair 0 file)
    list(GET pair 1 want)
    if(NOT EXISTS ${UDPTUN_SOURCES_DIR}/${file})
      message(FATAL_ERROR "${UDPTUN_SOURCES_DIR}/${file} not found: run scripts/fetch-sources")
    endif()
    file(SHA256 ${UDPTUN_SOURCES_DIR}/${file} got)
    if(NOT got STREQUAL want)
      message(FATAL_ERROR "${file} has SHA-256 ${got}, expected ${want}: refusing to build from it")
    endif()
  endforeach()
  message(STATUS "Building ${name} for Windows from ${orig} + ${debian}")
  set(work ${CMAKE_BINARY_DIR}/_deps/${name})
  file(REMOVE_RECURSE ${work})
  file(ARCHIVE_EXTRACT INPUT ${UDPTUN_SOURCES_DIR}/${orig} DESTINATION ${work})
  file(GLOB src LIST_DIRECTORIES true ${work}/*)
  file(ARCHIVE_EXTRACT INPUT ${UDPTUN_SOURCES_DIR}/${debian} DESTINATION ${src})
  if(EXISTS ${src}/debian/patches/series)
    file(STRINGS ${src}/debian/patches/series patches REGEX "^[^#]")
    foreach(p IN LISTS patches)
      string(STRIP "${p}" p)
      execute_process(COMMAND patch -p1 --batch -i debian/patches/${p} WORKING_DIRECTORY ${src}
                      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${name}: Debian patch ${p} does not apply:\n${out}")
      endif()
    endforeach()
  endif()
  execute_process(
    COMMAND ${CMAKE_COMMAND} -S ${src} -B ${work}/build -G Ninja -DCMAKE_BUILD_TYPE=Release
            -DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE} -DCMAKE_INSTALL_PREFIX=${UDPTUN_WINDOWS_PREFIX}
            -DBUILD_SHARED_LIBS=OFF ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0)
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${work}/build --target install
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: building for Windows failed:\n${out}")
  endif()
  file(REMOVE_RECURSE ${work})
  file(WRITE ${stamp} "${stamp_text}")
endfunction()

udptun_windows_dependency(libuv
  libuv1_1.44.2.orig.tar.gz d79b4b06ef04be85fb890bf39d55942cc64c2e15fd14eaa32dae5dce94485484
  libuv1_1.44.2-1+deb12u1.debian.tar.xz 14fc605e7d1520137416fd8c097b58a191be9b07bdbb406f7b39c7894b7d66a5
  -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF)
udptun_windows_dependency(cjson
  cjson_1.7.15.orig.tar.gz 5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2
  cjson_1.7.15-1+deb12u4.debian.tar.xz afd19a970966cf534ff1e9ec077d710a5e7e78eb4ec9b499c8bdc32e55da12cb
  -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF -DENABLE_CUSTOM_COMPILER_FLAGS=OFF
  -DCMAKE_C_FLAGS=-DCJSON_HIDE_SYMBOLS  # a static library: no dllexport in its objects
  -DCJSON_BUILD_SHARED_LIBS=OFF)
udptun_windows_dependency(mbedtls
  mbedtls_2.28.3.orig.tar.gz 3b4953aa55a681e084d31892d9904cc5328d6b4958ea57b90ae4b4f94ae69a8d
  mbedtls_2.28.3-1.debian.tar.xz 3e03c61f63c7bbcd0bf695b53e6663ab448cc2e15429cd67d0e4f32e699645a9
  -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF -DMBEDTLS_FATAL_WARNINGS=OFF)
udptun_windows_dependency(cmocka
  cmocka_1.1.5.orig.tar.xz f0ccd8242d55e2fd74b16ba518359151f6f8383ff8aef4976e48393f77bba8b6
  cmocka_1.1.5-2.1.debian.tar.xz 6ba25b3981ce2a6b954ba17b2e05460e5b14fd2092475fb3c13b0eb9aa3208b2
  -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF -DWITH_STATIC_LIB=ON
  -DCMAKE_C_FLAGS=-D__USE_MINGW_ANSI_STDIO=1)  # its messages print %zu, as C99 says
