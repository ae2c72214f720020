# What every release installs, on every platform: the three component daemons, their public
# headers, the README and licences (lwIP is compiled into libudptun-tun2socks and tun2socks:
# its BSD licence goes along). cmake/Packaging.cmake (Linux) and
# cmake/WindowsLibraries.cmake (Windows) add the rest.
install(TARGETS udp-local udp-server tun2socks-bin RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES
  ${CMAKE_SOURCE_DIR}/udplocal/include/udptun/udplocal.h
  ${CMAKE_SOURCE_DIR}/udpserver/include/udptun/udpserver.h
  ${CMAKE_SOURCE_DIR}/tun2socks/include/udptun/tun2socks.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/udptun)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${UDPTUN_LWIP_DIR}/COPYING DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME LICENSE.lwIP)
