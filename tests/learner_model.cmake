# tests/learner_model.cmake -- model side of the learner: replay buffers, dynamics
# ensemble (training + differentiable imagination step), CEM-MPC.
maac_test(test_replay test_replay.c LIBS maac_core)
maac_test(test_ensemble test_ensemble.c LIBS maac_core)
