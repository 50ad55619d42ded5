# tests/plant.cmake -- the plant as a value (core/plant.h): termination rule, gradient
# check; reward plugins (include/maacd/reward_plugin.h) with the example plugin and two
# plugins that must be refused.
maac_test(test_plant test_plant.c LIBS maac_sim maac_core)
add_library(reward_plugin_bad_grad MODULE reward_plugin_bad.c)
add_library(reward_plugin_bad_dims MODULE reward_plugin_bad.c)
target_compile_definitions(reward_plugin_bad_dims PRIVATE BAD_DIMS)
foreach(t reward_plugin_bad_grad reward_plugin_bad_dims)
  target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/include)
endforeach()
maac_test(test_reward_plugin test_reward_plugin.c LIBS maac_sim maac_core
          ARGS $<TARGET_FILE:reward_point_mass> $<TARGET_FILE:reward_plugin_bad_grad>
               $<TARGET_FILE:reward_plugin_bad_dims>)
add_dependencies(test_reward_plugin reward_point_mass reward_plugin_bad_grad
                 reward_plugin_bad_dims)
# maacd: the plant's model at hello, presets, safety limits, MPC with a learned reward.
maac_test(test_plant_safety test_plant_safety.c LIBS maacd_lib)
# A plant maacd has never heard of (examples/point_mass_driver.py) learns under maacd in
# realtime mode with the small preset: 150 s of learning, then the deterministic policy
# must return >= -40 (idle: -200, optimum -14.33), checked again every 30 s of further
# learning up to 300 s. About 3 minutes (up to 6): label slow.
execute_process(COMMAND /usr/bin/python3 -c "import zmq, msgpack"
                RESULT_VARIABLE MAAC_PY_ZMQ_RC2 OUTPUT_QUIET ERROR_QUIET)
if(MAAC_PY_ZMQ_RC2 EQUAL 0 AND TARGET maacd)
  add_test(NAME point_mass_learns
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/point_mass_learns.sh $<TARGET_FILE:maacd>
                   ${CMAKE_SOURCE_DIR}/examples/point_mass_driver.py 150 -40 300)
  set_tests_properties(point_mass_learns PROPERTIES TIMEOUT 600 LABELS "slow;e2e")
endif()
# maac train --reward-plugin / --terminate-obs-max, and a wrong plugin refused.
add_test(NAME maac_plugin_smoke
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/maac_plugin_smoke.sh $<TARGET_FILE:maac>
                 $<TARGET_FILE:reward_point_mass> $<TARGET_FILE:reward_plugin_bad_grad>)
set_tests_properties(maac_plugin_smoke PROPERTIES TIMEOUT 120 ENVIRONMENT
    "MAAC_MODEL_DIR=${CMAKE_SOURCE_DIR}/sim/models;OPENBLAS_NUM_THREADS=1")
