# tests/transport.cmake -- wire protocol codec, ZeroMQ link, Python example client.
maac_test(test_wire test_wire.c LIBS maac_transport PkgConfig::MSGPACK)
# test_wire counts malloc calls around the decoder (no allocation on the control path).
target_link_options(test_wire PRIVATE -Wl,--wrap=malloc)
maac_test(test_link test_link.c LIBS maac_transport TIMEOUT 60)
# examples/maac_client.py (python3-zmq + python3-msgpack, Debian's /usr/bin/python3)
# against a lock-step plant server built from transport/; only where those import.
execute_process(COMMAND /usr/bin/python3 -c "import zmq, msgpack"
                RESULT_VARIABLE MAAC_PY_ZMQ_RC OUTPUT_QUIET ERROR_QUIET)
if(MAAC_PY_ZMQ_RC EQUAL 0)
  maac_test(test_client_py test_client_py.c LIBS maac_transport TIMEOUT 120
            ARGS ${CMAKE_SOURCE_DIR}/examples/maac_client.py)
endif()
# maac-sim (transport/maac_sim) against the same kind of server: lock-step, an outage
# with reconnection, realtime.
maac_test(test_maac_sim test_maac_sim.c LIBS maac_transport maac_sim TIMEOUT 120
          ARGS $<TARGET_FILE:maac-sim>)
add_dependencies(test_maac_sim maac-sim)
# ... and against a real maacd (lock-step, no learning), once the daemon is built.
if(MAAC_PY_ZMQ_RC EQUAL 0 AND TARGET maacd)
  add_test(NAME test_client_py_maacd
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/client_maacd.sh $<TARGET_FILE:maacd>
                   ${CMAKE_SOURCE_DIR}/examples/maac_client.py)
  set_tests_properties(test_client_py_maacd PROPERTIES TIMEOUT 180)
endif()
# CURVE keys, the ZAP handler and the ipc socket directory (attacks that must fail).
maac_test(test_curve test_curve.c LIBS maac_transport TIMEOUT 60)
