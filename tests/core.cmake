# tests/core.cmake -- neural-network core: rng, nn kernels, mlp, adam, checkpoints.
maac_test(test_rng test_rng.c LIBS maac_core)
maac_test(test_nn test_nn.c LIBS maac_core)
maac_test(test_mlp test_mlp.c LIBS maac_core)
maac_test(test_adam test_adam.c LIBS maac_core)
maac_test(test_ckpt test_ckpt.c LIBS maac_core)
