# The Windows release: each component's C API as a DLL (libudplocal.dll, libudpserver.dll,
# libudptun-tun2socks.dll, each with its import library), exporting exactly the functions of
# its public header, with everything else inside (libuv, cJSON, mbedTLS, the C++ and GCC
# runtimes). The daemons are .exe files. `cmake --install` lays out bin/, lib/, include/.

# A DLL from one of our static component libraries; its .def file lists the static library's
# own symbols that start with `export_prefix` (the C API), read with nm when it is built.
function(udptun_windows_dll name static_target export_prefix)
  set(def ${CMAKE_BINARY_DIR}/packaging/${name}.def)
  add_custom_command(
    OUTPUT ${def}
    COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIBRARY=$<TARGET_FILE:${static_target}>
            -DPREFIX=${export_prefix} -DNAME=${name} -DOUTPUT=${def}
            -P ${CMAKE_SOURCE_DIR}/cmake/WindowsExports.cmake
    DEPENDS ${static_target} ${CMAKE_SOURCE_DIR}/cmake/WindowsExports.cmake
    VERBATIM)
  add_library(${name}_dll SHARED ${CMAKE_SOURCE_DIR}/cmake/packaging/empty.c ${def})
  target_link_libraries(${name}_dll PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${static_target}>")
  set_target_properties(${name}_dll PROPERTIES OUTPUT_NAME ${name})
  install(TARGETS ${name}_dll RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
                              ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()

udptun_windows_dll(udplocal udplocal udplocal_)
udptun_windows_dll(udpserver udpserver udpserver_)
udptun_windows_dll(udptun-tun2socks tun2socks tun2socks_)

include(ReleaseCommon)
