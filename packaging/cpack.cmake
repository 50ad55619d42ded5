# packaging/cpack.cmake -- the Debian package (make deb: cpack -G DEB in build-deb).
# Included by the top-level CMakeLists.txt. Installs maacd (sbin), maacctl and
# maac-sim (bin, installed by their own CMakeLists), the systemd unit, the default
# config (a conffile), the man pages (gzip-compressed), the docs and the Debian
# copyright file (machine-readable format, packaging/debian/copyright).
include(GNUInstallDirs)

install(FILES ${CMAKE_SOURCE_DIR}/units/maacd.service
        DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/units/maacd.conf
        DESTINATION /etc/maacd)
# a man page for every installed program, gzip-compressed as Debian policy wants
# (gzip -n: no name or time stamp, so the package is reproducible)
find_program(GZIP_EXE gzip REQUIRED)
set(_man_gz)
foreach(page maacd.8 maacctl.1 maac.1 maac-sim.1)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" sect ${page})
  set(_gz ${CMAKE_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${_gz}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${GZIP_EXE} -9 -n -c ${CMAKE_SOURCE_DIR}/docs/man/${page} > ${_gz}
      DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/${page} VERBATIM)
  list(APPEND _man_gz ${_gz})
  install(FILES ${_gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${sect})
endforeach()
add_custom_target(manpages ALL DEPENDS ${_man_gz})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
foreach(doc README.md docs/daemon.md docs/protocol.md docs/checkpoint-format.md docs/training.md)
  if(EXISTS ${CMAKE_SOURCE_DIR}/${doc})
    install(FILES ${CMAKE_SOURCE_DIR}/${doc} DESTINATION ${CMAKE_INSTALL_DOCDIR})
  endif()
endforeach()
foreach(ex maac_client.py write_policy.py)
  if(EXISTS ${CMAKE_SOURCE_DIR}/examples/${ex})
    install(PROGRAMS ${CMAKE_SOURCE_DIR}/examples/${ex}
            DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
  endif()
endforeach()

set(CPACK_PACKAGE_NAME "maacd")
set(CPACK_PACKAGE_VENDOR "maacd developers")
set(CPACK_PACKAGE_CONTACT "maacd developers <maintainers@users.noreply.example>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "real-time robot controller daemon that learns online with MAAC")
set(CPACK_PACKAGE_DESCRIPTION "maacd serves a policy at a fixed control rate over ZeroMQ and improves it in the
background with Model-Augmented Actor-Critic; policies hot-swap without missing a
tick. Includes maacctl (control client) and maac-sim (MuJoCo plants).")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "rt-tests, python3-zmq, python3-msgpack")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/packaging/debian/conffiles;${CMAKE_SOURCE_DIR}/packaging/debian/postinst;${CMAKE_SOURCE_DIR}/packaging/debian/prerm;${CMAKE_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_GENERATOR "DEB")
include(CPack)
