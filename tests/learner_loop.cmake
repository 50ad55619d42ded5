# Learner loop, rollouts and learning tests (learner.c, rollout.c, cli/trainer.c).
maac_test(test_rollout test_rollout.c LIBS maac_core maac_sim maac_core TIMEOUT 120)
maac_test(test_learner test_learner.c LIBS maac_trainer TIMEOUT 300)
maac_test(test_learn_pendulum test_learn_pendulum.c LIBS maac_trainer LABELS slow TIMEOUT 900)
