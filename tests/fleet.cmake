# tests/fleet.cmake -- many robots, one learner (issue 31; docs/daemon.md "Fleet").
maac_test(test_fleet_wire test_fleet_wire.c LIBS maac_transport)
foreach(mode basic restart noplant)
  add_test(NAME fleet_${mode} COMMAND /usr/bin/python3
           ${CMAKE_CURRENT_SOURCE_DIR}/test_fleet.py ${mode} ${CMAKE_BINARY_DIR})
  set_tests_properties(fleet_${mode} PROPERTIES TIMEOUT 180 LABELS "e2e")
endforeach()
