# lwIP 2.1.3 core, from the pinned Debian source tarball (never copied into this repo).
# scripts/fetch-sources downloads it; here it is checked, unpacked into the build tree and
# compiled with our own lwipopts.h and arch/cc.h (NO_SYS=1, driven by our event loop).
set(UDPTUN_LWIP_SHA256 0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24)
set(UDPTUN_LWIP_CONFIG_DIR ${CMAKE_SOURCE_DIR}/tun2socks/lwip)

if(NOT EXISTS "${UDPTUN_LWIP_TARBALL}")
  message(FATAL_ERROR "lwIP source tarball not found at ${UDPTUN_LWIP_TARBALL}.\n"
                      "Run scripts/setup (or scripts/fetch-sources) first.")
endif()
file(SHA256 "${UDPTUN_LWIP_TARBALL}" _lwip_sha)
if(NOT _lwip_sha STREQUAL UDPTUN_LWIP_SHA256)
  message(FATAL_ERROR "lwIP tarball ${UDPTUN_LWIP_TARBALL} has SHA-256 ${_lwip_sha}, "
                      "expected ${UDPTUN_LWIP_SHA256}: refusing to build from it.")
endif()

# Our patches to lwIP (applied in order). Re-unpacking whenever a patch changes keeps the
# tree in the build directory exactly "tarball + these patches".
file(GLOB UDPTUN_LWIP_PATCHES ${UDPTUN_LWIP_CONFIG_DIR}/patches/*.patch)
list(SORT UDPTUN_LWIP_PATCHES)
set(_lwip_stamp_text "${UDPTUN_LWIP_SHA256}")
foreach(p IN LISTS UDPTUN_LWIP_PATCHES)
  file(SHA256 ${p} _psha)
  string(APPEND _lwip_stamp_text ";${_psha}")
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${UDPTUN_LWIP_PATCHES})

set(LWIP_DIR ${CMAKE_BINARY_DIR}/_deps/lwip-2.1.3)
set(UDPTUN_LWIP_DIR ${LWIP_DIR} CACHE INTERNAL "where lwIP was unpacked (its licence ships with the release)")
set(_lwip_stamp ${LWIP_DIR}/.udptun-stamp)
set(_lwip_old_stamp "")
if(EXISTS ${_lwip_stamp})
  file(READ ${_lwip_stamp} _lwip_old_stamp)
endif()
if(NOT _lwip_old_stamp STREQUAL _lwip_stamp_text)
  file(REMOVE_RECURSE ${LWIP_DIR})
  file(ARCHIVE_EXTRACT INPUT "${UDPTUN_LWIP_TARBALL}" DESTINATION ${CMAKE_BINARY_DIR}/_deps)
  foreach(p IN LISTS UDPTUN_LWIP_PATCHES)
    # The tarball's sources have CRLF line endings; our patches are LF. --binary keeps the
    # CRs out of the comparison only if both sides agree, so normalise the files first.
    execute_process(COMMAND sed -n "s|^+++ b/||p" ${p} OUTPUT_VARIABLE _touched)
    string(REPLACE "\n" ";" _touched "${_touched}")
    foreach(f IN LISTS _touched)
      if(f AND EXISTS ${LWIP_DIR}/${f})
        execute_process(COMMAND sed -i "s/\r$//" ${LWIP_DIR}/${f})
      endif()
    endforeach()
    execute_process(COMMAND patch -p1 --forward --batch -i ${p} WORKING_DIRECTORY ${LWIP_DIR}
                    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "applying ${p} to lwIP failed:\n${_out}")
    endif()
  endforeach()
  file(WRITE ${_lwip_stamp} "${_lwip_stamp_text}")
endif()

set(_core ${LWIP_DIR}/src/core)
add_library(udptun_lwip STATIC
  ${_core}/init.c ${_core}/def.c ${_core}/inet_chksum.c ${_core}/ip.c ${_core}/mem.c
  ${_core}/memp.c ${_core}/netif.c ${_core}/pbuf.c ${_core}/raw.c ${_core}/stats.c
  ${_core}/sys.c ${_core}/tcp.c ${_core}/tcp_in.c ${_core}/tcp_out.c ${_core}/timeouts.c
  ${_core}/udp.c
  ${_core}/ipv4/icmp.c ${_core}/ipv4/ip4.c ${_core}/ipv4/ip4_addr.c ${_core}/ipv4/ip4_frag.c
  ${_core}/ipv6/icmp6.c ${_core}/ipv6/inet6.c ${_core}/ipv6/ip6.c ${_core}/ipv6/ip6_addr.c
  ${_core}/ipv6/ip6_frag.c ${_core}/ipv6/nd6.c ${_core}/ipv6/mld6.c
  ${UDPTUN_LWIP_CONFIG_DIR}/sys_arch.c)
target_include_directories(udptun_lwip SYSTEM PUBLIC
  ${UDPTUN_LWIP_CONFIG_DIR}/include ${LWIP_DIR}/src/include)
# Third-party code: its warnings are not ours to fix.
target_compile_options(udptun_lwip PRIVATE -w)

install(FILES ${LWIP_DIR}/COPYING DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/udptun
        RENAME LICENSE.lwIP)
