# tests/learner_model.cmake -- model side of the learner: replay buffers, dynamics
# ensemble (training, also on a thread team, + differentiable imagination step), CEM-MPC.
maac_test(test_replay test_replay.c LIBS maac_core)
maac_test(test_ensemble test_ensemble.c LIBS maac_core)
maac_test(test_ens_parallel test_ens_parallel.c LIBS maac_core)
# test_cem counts allocations inside cem_plan by wrapping the allocator at link time.
maac_test(test_cem test_cem.c LIBS maac_core)
target_link_options(test_cem PRIVATE
    "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc")
