# tests/daemon.cmake -- maacd: rt, swap, config, control-step (no allocation), bad
# input, end to end with maac-sim.
maac_test(test_rt test_rt.c LIBS maacd_lib)
maac_test(test_swap test_swap.c LIBS maacd_lib)
maac_test(test_config test_config.c LIBS maacd_lib)
set_property(TEST test_config APPEND PROPERTY ENVIRONMENT
    "MAACD_CONF=${CMAKE_SOURCE_DIR}/units/maacd.conf")
maac_test(test_ctrl_noalloc test_ctrl_noalloc.c LIBS maacd_lib)
target_link_options(test_ctrl_noalloc PRIVATE
    -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=free)
maac_test(test_bad_input test_bad_input.c LIBS maacd_lib)
# End to end: maacd + maac-sim (+ maacctl, the Python example client, make run's script).
add_test(NAME daemon_e2e COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_daemon_e2e.py basic
         ${CMAKE_BINARY_DIR})
set_tests_properties(daemon_e2e PROPERTIES TIMEOUT 600 LABELS "e2e")
add_test(NAME daemon_learn COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_daemon_e2e.py learn
         ${CMAKE_BINARY_DIR})
set_tests_properties(daemon_learn PROPERTIES TIMEOUT 1800 LABELS "slow;e2e")
# The asynchronous learner: ingestion, bounded stop, kill -9 resume, watchdog, parity.
foreach(mode ingest stop kill9 watchdog parity)
  add_test(NAME daemon_async_${mode} COMMAND /usr/bin/python3
           ${CMAKE_CURRENT_SOURCE_DIR}/test_daemon_async.py ${mode} ${CMAKE_BINARY_DIR})
  set_tests_properties(daemon_async_${mode} PROPERTIES TIMEOUT 600 LABELS "e2e")
endforeach()
