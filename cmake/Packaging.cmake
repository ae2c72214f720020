# The library release: shared libraries exporting only their C API, the daemons, udptunctl,
# the public headers, pkg-config files, example configurations, systemd units, the docs and
# the lwIP licence notice; `cmake --install` puts them in place and CPack makes a .deb.

# A shared library from one of our static component libraries: everything inside, only the
# C API (symbols starting with `export_prefix`) visible.
function(udptun_shared_library name static_target export_prefix description)
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
  set(PC_NAME ${name})
  set(PC_LIBRARY ${name})
  set(PC_DESCRIPTION "${description}")
  configure_file(${CMAKE_SOURCE_DIR}/cmake/packaging/udptun-library.pc.in
                 ${CMAKE_BINARY_DIR}/packaging/${name}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/${name}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()

udptun_shared_library(udplocal udplocal udplocal_
  "udptun client end: UDP over one resumable TCP connection")
udptun_shared_library(udpserver udpserver udpserver_
  "udptun server end: authenticated UDP relay behind a TCP listener")
udptun_shared_library(udptun-tun2socks tun2socks tun2socks_
  "udptun tun2socks: a TUN device's TCP to SOCKS5, its UDP to udp-local or SOCKS5")
udptun_shared_library(udptun-controller udptun_controller proxy_controller_
  "udptun proxy-controller: JSON control socket, TUN and routes, service supervision")

install(TARGETS proxy-controller udptunctl udp-local udp-server tun2socks-bin
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES
  ${CMAKE_SOURCE_DIR}/udplocal/include/udptun/udplocal.h
  ${CMAKE_SOURCE_DIR}/udpserver/include/udptun/udpserver.h
  ${CMAKE_SOURCE_DIR}/tun2socks/include/udptun/tun2socks.h
  ${CMAKE_SOURCE_DIR}/controller/include/udptun/controller.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/udptun)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
# lwIP is compiled into libudptun-tun2socks and the tun2socks daemon: its BSD licence goes along.
install(FILES ${UDPTUN_LWIP_DIR}/COPYING DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME LICENSE.lwIP)
# docs/examples (configurations for every daemon and for shadowsocks) went in with docs/;
# the systemd units also go where systemd looks.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/examples/systemd/ DESTINATION lib/systemd/system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME udptun)
set(CPACK_PACKAGE_VENDOR "udptun")
set(CPACK_PACKAGE_CONTACT "udptun maintainers <udptun@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "UDP tunnelled over TCP (shadowsocks/obfs, TLS), with tun2socks and a routing controller")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # libuv1, libcjson1, libmbedtls14/libmbedx509-1/libmbedcrypto7 from the binaries
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "shadowsocks-libev, simple-obfs")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
# Creates the udptun system user the controller's services run as.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/cmake/packaging/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
