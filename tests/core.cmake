# tests/core.cmake -- neural-network core: rng, nn kernels, mlp, adam, thread team,
# checkpoints, the OpenBLAS core choice.
maac_test(test_rng test_rng.c LIBS maac_core)
maac_test(test_nn test_nn.c LIBS maac_core)
maac_test(test_mlp test_mlp.c LIBS maac_core)
maac_test(test_adam test_adam.c LIBS maac_core)
maac_test(test_workers test_workers.c LIBS maac_core)
maac_test(test_ckpt test_ckpt.c LIBS maac_core)
maac_test(test_blas_arch test_blas_arch.c LIBS maac_core)
# The Python reader (docs/checkpoint-format.md) recomputes a C-written checkpoint's
# outputs; only where /usr/bin/python3 can import msgpack.
execute_process(COMMAND /usr/bin/python3 -c "import msgpack"
                RESULT_VARIABLE MAAC_PY_MSGPACK_RC OUTPUT_QUIET ERROR_QUIET)
if(MAAC_PY_MSGPACK_RC EQUAL 0)
  set(_ref ${CMAKE_CURRENT_BINARY_DIR}/ckpt_ref)
  add_test(NAME test_ckpt_python
           COMMAND sh -c "rm -rf '${_ref}' && mkdir -p '${_ref}' && '$<TARGET_FILE:test_ckpt>' --write-ref '${_ref}' && /usr/bin/python3 '${CMAKE_CURRENT_SOURCE_DIR}/ckpt_reader.py' '${_ref}/ref.ckpt' '${_ref}/ref_io.msgpack'")
endif()
