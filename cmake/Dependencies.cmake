# The libraries udptun builds on, as targets the components link, the same names on every
# platform: udptun_libuv, udptun_cjson, udptun_mbedcrypto, udptun_mbedtls, udptun_cmocka.
# Linux: Debian's -dev packages (native or :arm64). Windows: built from Debian's source
# packages by cmake/WindowsDependencies.cmake.
add_library(udptun_libuv INTERFACE)
add_library(udptun_cjson INTERFACE)
add_library(udptun_mbedcrypto INTERFACE)
add_library(udptun_mbedtls INTERFACE)
add_library(udptun_cmocka INTERFACE)

if(WIN32)
  include(WindowsDependencies)
  set(_lib ${UDPTUN_WINDOWS_PREFIX}/lib)
  set(_inc ${UDPTUN_WINDOWS_PREFIX}/include)
  # Static libraries as imported targets, so the linker sees them in dependency order.
  foreach(pair "uv;libuv_a.a" "cjson;libcjson.a" "mbedcrypto;libmbedcrypto.a"
               "mbedx509;libmbedx509.a" "mbedtls_core;libmbedtls.a" "cmocka;libcmocka-static.a")
    list(GET pair 0 name)
    list(GET pair 1 file)
    add_library(udptun_windows_${name} STATIC IMPORTED)
    set_target_properties(udptun_windows_${name} PROPERTIES IMPORTED_LOCATION ${_lib}/${file})
  endforeach()
  set_target_properties(udptun_windows_uv PROPERTIES INTERFACE_LINK_LIBRARIES
    "psapi;user32;advapi32;iphlpapi;userenv;ws2_32;dbghelp;ole32;shell32")
  set_target_properties(udptun_windows_mbedcrypto PROPERTIES INTERFACE_LINK_LIBRARIES bcrypt)
  set_target_properties(udptun_windows_mbedx509 PROPERTIES INTERFACE_LINK_LIBRARIES
    udptun_windows_mbedcrypto)
  set_target_properties(udptun_windows_mbedtls_core PROPERTIES INTERFACE_LINK_LIBRARIES
    "udptun_windows_mbedx509;udptun_windows_mbedcrypto")
  foreach(t udptun_libuv udptun_cjson udptun_mbedcrypto udptun_mbedtls udptun_cmocka)
    target_include_directories(${t} SYSTEM INTERFACE ${_inc})
  endforeach()
  target_link_libraries(udptun_libuv INTERFACE udptun_windows_uv)
  # cJSON's headers are included as <cJSON.h>, as Debian's pkg-config file has it. The static
  # library: no dllimport/dllexport decoration, and our DLLs do not re-export it.
  target_include_directories(udptun_cjson SYSTEM INTERFACE ${_inc}/cjson)
  target_compile_definitions(udptun_cjson INTERFACE CJSON_HIDE_SYMBOLS)
  target_link_libraries(udptun_cjson INTERFACE udptun_windows_cjson)
  target_link_libraries(udptun_mbedcrypto INTERFACE udptun_windows_mbedcrypto)
  target_link_libraries(udptun_mbedtls INTERFACE udptun_windows_mbedtls_core)
  target_link_libraries(udptun_cmocka INTERFACE udptun_windows_cmocka)
  return()
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
target_link_libraries(udptun_libuv INTERFACE PkgConfig::LIBUV)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
target_link_libraries(udptun_cjson INTERFACE PkgConfig::CJSON)
# Debian 12's libmbedtls-dev ships no pkg-config file: find the library directly.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/md.h REQUIRED)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto REQUIRED)
target_include_directories(udptun_mbedcrypto SYSTEM INTERFACE ${MBEDTLS_INCLUDE_DIR})
target_link_libraries(udptun_mbedcrypto INTERFACE ${MBEDCRYPTO_LIBRARY})
# The TLS carrier (runtime/src/tls.cpp) needs the TLS and X.509 parts too.
find_library(MBEDTLS_LIBRARY mbedtls REQUIRED)
find_library(MBEDX509_LIBRARY mbedx509 REQUIRED)
target_link_libraries(udptun_mbedtls INTERFACE ${MBEDTLS_LIBRARY} ${MBEDX509_LIBRARY} udptun_mbedcrypto)
if(UDPTUN_BUILD_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  target_link_libraries(udptun_cmocka INTERFACE PkgConfig::CMOCKA)
endif()
