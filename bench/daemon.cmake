# bench/daemon.cmake -- maacd loop jitter (bench_jitter runs cyclictest next to it)
# and policy swap latency.
add_executable(bench_jitter jitter.c)
target_link_libraries(bench_jitter PRIVATE maacd_lib)
add_executable(bench_swap swap.c)
target_link_libraries(bench_swap PRIVATE maacd_lib)
