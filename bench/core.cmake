# bench/core.cmake -- neural-network core benchmarks.
add_executable(bench_nn ${CMAKE_CURRENT_SOURCE_DIR}/nn.c)
target_link_libraries(bench_nn PRIVATE maac_core)
