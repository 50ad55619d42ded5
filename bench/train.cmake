# bench_train PLANT STEPS [--compare-sac]: returns and wall time per 1000 env steps.
add_executable(bench_train ${CMAKE_CURRENT_SOURCE_DIR}/train.c)
target_link_libraries(bench_train PRIVATE maac_trainer)
