# Learner loop, rollouts and learning tests (learner.c, rollout.c, cli/trainer.c).
maac_test(test_rollout test_rollout.c LIBS maac_sim maac_core TIMEOUT 120)
maac_test(test_learner test_learner.c LIBS maac_trainer TIMEOUT 300)
# Exact resume from a learner_state checkpoint (core/learner_state.c), refusals.
maac_test(test_learner_resume test_learner_resume.c LIBS maac_sim maac_core TIMEOUT 300)
maac_test(test_learn_pendulum test_learn_pendulum.c LIBS maac_trainer TIMEOUT 900)
# The `maac` command end to end (train with INI + flags, eval, eval --mpc).
add_test(NAME maac_cli_smoke COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/maac_cli_smoke.sh $<TARGET_FILE:maac>)
set_tests_properties(maac_cli_smoke PROPERTIES TIMEOUT 300 ENVIRONMENT "OPENBLAS_NUM_THREADS=1")
maac_test(test_learner_async test_learner_async.c LIBS maac_core maac_sim maac_core TIMEOUT 300)
# --algo presets (core/learner_preset.c): resolved settings; SAC fits no model.
maac_test(test_preset test_preset.c LIBS maac_trainer TIMEOUT 120)
