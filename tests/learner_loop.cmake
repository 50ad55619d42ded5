# Learner loop, rollouts and learning tests (learner.c, rollout.c, cli/trainer.c).
maac_test(test_rollout test_rollout.c LIBS maac_core maac_sim maac_core TIMEOUT 120)
