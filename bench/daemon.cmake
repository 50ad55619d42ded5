# bench/daemon.cmake -- maacd loop jitter (bench/jitter.sh runs it next to cyclictest)
# and policy swap latency.
if(NOT MAACD_CORE_READY)
  return()
endif()
add_executable(bench_jitter jitter.c)
target_link_libraries(bench_jitter PRIVATE maacd_lib)
add_executable(bench_swap swap.c)
target_link_libraries(bench_swap PRIVATE maacd_lib)
