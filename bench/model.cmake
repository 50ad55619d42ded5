# bench/model.cmake -- model side of the learner: ensemble training epoch, CEM-MPC latency.
add_executable(bench_model ${CMAKE_CURRENT_SOURCE_DIR}/model.c)
target_link_libraries(bench_model PRIVATE maac_core maac_sim)
