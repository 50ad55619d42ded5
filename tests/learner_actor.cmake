# tests/learner_actor.cmake -- actor/critic side of the learner: policy, twin Qs,
# MAAC objective (pathwise gradient), STEVE targets, double-integrator gradient error.
maac_test(test_policy test_policy.c LIBS maac_core)
maac_test(test_qf test_qf.c LIBS maac_core)
foreach(t maac steve di_gradient)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c AND EXISTS ${CMAKE_SOURCE_DIR}/core/maac.c)
    maac_test(test_${t} test_${t}.c LIBS maac_core maac_sim)
  endif()
endforeach()
