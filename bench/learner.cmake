# bench/learner.cmake -- actor/critic updates (MAAC, STEVE, SAC) against peak sgemm.
add_executable(bench_learner ${CMAKE_CURRENT_SOURCE_DIR}/learner.c)
target_link_libraries(bench_learner PRIVATE maac_core maac_sim)
