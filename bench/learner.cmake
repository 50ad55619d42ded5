# bench/learner.cmake -- actor/critic updates (MAAC, STEVE, SAC) against peak sgemm and
# against the PyTorch reference bench/learner_torch.py (found through MAAC_SOURCE_DIR).
add_executable(bench_learner ${CMAKE_CURRENT_SOURCE_DIR}/learner.c)
target_link_libraries(bench_learner PRIVATE maac_core maac_sim)
target_compile_definitions(bench_learner PRIVATE MAAC_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
