# tests/experiments.cmake -- the experiment commands' pieces: `maac bench fig2` and
# scripts/plot.py (registered only where a python3 with matplotlib is installed:
# `make plots-deps`; without it the plotting is not tested, and this says so).
find_program(MAAC_PLOT_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(MAAC_PLOT_PYTHON)
  execute_process(COMMAND ${MAAC_PLOT_PYTHON} -c "import matplotlib"
                  RESULT_VARIABLE MAAC_HAVE_MPL OUTPUT_QUIET ERROR_QUIET)
endif()
if(MAAC_PLOT_PYTHON AND MAAC_HAVE_MPL EQUAL 0)
  add_test(NAME plot_smoke COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/plot_smoke.sh
           $<TARGET_FILE:maac> ${MAAC_PLOT_PYTHON} ${CMAKE_SOURCE_DIR})
  set_tests_properties(plot_smoke PROPERTIES TIMEOUT 120 ENVIRONMENT "OPENBLAS_NUM_THREADS=1")
else()
  message(STATUS "plot_smoke not registered: no /usr/bin/python3 with matplotlib (make plots-deps)")
endif()
if(MAAC_PLOT_PYTHON AND MAAC_HAVE_MPL EQUAL 0)
  # Every scripts/exp-*.sh end to end on inverted_pendulum for a few hundred steps.
  add_test(NAME exp_scripts_smoke COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/exp_scripts_smoke.sh
           ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR} ${MAAC_PLOT_PYTHON})
  set_tests_properties(exp_scripts_smoke PROPERTIES TIMEOUT 300 LABELS slow
                       ENVIRONMENT "OPENBLAS_NUM_THREADS=1")
endif()
