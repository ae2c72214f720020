# The library release: shared libraries exporting only their C API, the daemons, udptunctl,
# their man pages, the public headers, pkg-config files, example configurations, systemd
# units, the docs and the lwIP licence notice. These install rules are the one statement of
# what is installed: `cmake --install` follows them, and so do the Debian packages (debian/,
# where dh drives CMake and only splits the result into packages).

# Relocatable pkg-config files suit `cmake --install --prefix ANYWHERE`; a system package
# (debian/rules) says where: then pkg-config sees the system's own paths and adds no -L.
option(UDPTUN_RELOCATABLE_PKGCONFIG "pkg-config files find the prefix from their own place" ON)

# A shared library from one of our static component libraries: everything inside, only the
# C API (symbols starting with `export_prefix`) visible. Its pkg-config name is udptun-COMPONENT
# for every library; FORMER_PKGCONFIG NAME also installs the name an earlier release used, as
# an alias that requires the new one (existing builds keep working).
function(udptun_shared_library name static_target export_prefix description)
  cmake_parse_arguments(ARG "" "PKGCONFIG;FORMER_PKGCONFIG" "" ${ARGN})
  set(EXPORT_PREFIX ${export_prefix})
  configure_file(${CMAKE_SOURCE_DIR}/cmake/packaging/exports.map.in
                 ${CMAKE_BINARY_DIR}/packaging/${name}.map @ONLY)
  add_library(${name}_shared SHARED ${CMAKE_SOURCE_DIR}/cmake/packaging/empty.c)
  target_link_libraries(${name}_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${static_target}>")
  target_link_options(${name}_shared PRIVATE
                      -Wl,--version-script=${CMAKE_BINARY_DIR}/packaging/${name}.map
                      -Wl,--no-undefined)
  set_target_properties(${name}_shared PROPERTIES OUTPUT_NAME ${name}
                        VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  install(TARGETS ${name}_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set(PC_NAME ${ARG_PKGCONFIG})
  if(UDPTUN_RELOCATABLE_PKGCONFIG)
    # The prefix found from the .pc file's own place, however deep the (multiarch) library
    # directory is.
    file(RELATIVE_PATH PC_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
    string(REGEX REPLACE "/$" "" PC_PREFIX "${PC_PREFIX}")
    set(PC_PREFIX "\${pcfiledir}/${PC_PREFIX}")
  else()
    set(PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  endif()
  set(PC_LIBRARY ${name})
  set(PC_DESCRIPTION "${description}")
  configure_file(${CMAKE_SOURCE_DIR}/cmake/packaging/udptun-library.pc.in
                 ${CMAKE_BINARY_DIR}/packaging/${PC_NAME}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/${PC_NAME}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
  if(ARG_FORMER_PKGCONFIG)
    set(PC_FORMER_NAME ${ARG_FORMER_PKGCONFIG})
    configure_file(${CMAKE_SOURCE_DIR}/cmake/packaging/udptun-former-name.pc.in
                   ${CMAKE_BINARY_DIR}/packaging/${PC_FORMER_NAME}.pc @ONLY)
    install(FILES ${CMAKE_BINARY_DIR}/packaging/${PC_FORMER_NAME}.pc
            DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
  endif()
endfunction()

udptun_shared_library(udplocal udplocal udplocal_
  "udptun client end: UDP over one resumable TCP connection"
  PKGCONFIG udptun-udplocal FORMER_PKGCONFIG udplocal)
udptun_shared_library(udpserver udpserver udpserver_
  "udptun server end: authenticated UDP relay behind a TCP listener"
  PKGCONFIG udptun-udpserver FORMER_PKGCONFIG udpserver)
udptun_shared_library(udptun-tun2socks tun2socks tun2socks_
  "udptun tun2socks: a TUN device's TCP to SOCKS5, its UDP to udp-local or SOCKS5"
  PKGCONFIG udptun-tun2socks)
udptun_shared_library(udptun-controller udptun_controller proxy_controller_
  "udptun proxy-controller: JSON control socket, TUN and routes, service supervision"
  PKGCONFIG udptun-controller)

include(ReleaseCommon)
install(TARGETS proxy-controller udptunctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/controller/include/udptun/controller.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/udptun)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
# docs/examples (configurations for every daemon and for shadowsocks) went in with docs/;
# the systemd units also go where systemd looks.
# Relative to the prefix unless told (the Debian packages: /lib/systemd/system).
set(UDPTUN_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING "Where the systemd units go")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/examples/systemd/ DESTINATION ${UDPTUN_SYSTEMD_UNIT_DIR})

# A man page per program, generated from the option table its --help prints (--manpage).
set(_man_pages)
foreach(pair proxy-controller:proxy-controller udptunctl:udptunctl udp-local:udp-local
             udp-server:udp-server tun2socks-bin:tun2socks)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 target)
  list(GET pair 1 program)
  set(page ${CMAKE_BINARY_DIR}/man/${program}.1)
  add_custom_command(
    OUTPUT ${page}
    COMMAND ${CMAKE_COMMAND} "-DPROGRAM=$<TARGET_FILE:${target}>"
            "-DEMULATOR=${CMAKE_CROSSCOMPILING_EMULATOR}" -DOUTPUT=${page}
            -P ${CMAKE_SOURCE_DIR}/cmake/ManPage.cmake
    DEPENDS ${target} ${CMAKE_SOURCE_DIR}/cmake/ManPage.cmake
    COMMENT "Writing the man page ${program}(1)")
  list(APPEND _man_pages ${page})
endforeach()
add_custom_target(man_pages ALL DEPENDS ${_man_pages})
install(FILES ${_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
