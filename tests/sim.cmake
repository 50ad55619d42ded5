# tests/sim.cmake -- sim/: plants against the reference models, rewards, double integrator.
maac_test(test_sim_models ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_models.c LIBS maac_sim TIMEOUT 120)
maac_test(test_sim_reward ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_reward.c LIBS maac_sim TIMEOUT 120)
maac_test(test_sim_plants ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_plants.c LIBS maac_sim TIMEOUT 120)
maac_test(test_sim_di ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_di.c LIBS maac_sim TIMEOUT 60)
