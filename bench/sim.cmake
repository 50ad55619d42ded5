# bench/sim.cmake -- plant steps per second and wrapper overhead over bare mj_step.
add_executable(bench_sim ${CMAKE_CURRENT_SOURCE_DIR}/sim.c)
target_link_libraries(bench_sim PRIVATE maac_sim)
