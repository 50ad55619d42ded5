# tests/secfiles.cmake -- files and control commands an attacker could steer (issue 33):
# atomic writes, stale temp files, FIFO / oversize reads, the swap and save checks.
maac_test(test_safe_files test_safe_files.c LIBS maac_core)
maac_test(test_ctl_guard test_ctl_guard.c LIBS maacd_lib)
maac_test(test_faults test_faults.c LIBS maacd_lib)
