# tests/secfiles.cmake -- files and control commands an attacker could steer (issue 33):
# atomic writes, stale temp files, FIFO / oversize reads, the swap and save checks.
maac_test(test_safe_files test_safe_files.c LIBS maac_core)
maac_test(test_ctl_guard test_ctl_guard.c LIBS maacd_lib)
maac_test(test_faults test_faults.c LIBS maacd_lib)
# maacd end to end: a Python-written policy swapped in and served deterministically,
# swap/save refusals, faults (python3-zmq + python3-msgpack, Debian's /usr/bin/python3)
add_test(NAME secfiles_e2e COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_secfiles_e2e.py
         ${CMAKE_BINARY_DIR})
set_tests_properties(secfiles_e2e PROPERTIES TIMEOUT 300 LABELS "e2e")
