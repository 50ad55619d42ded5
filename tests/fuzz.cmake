# tests/fuzz.cmake -- fuzz targets (tests/fuzz/): the wire decoder, the checkpoint
# readers, the settings parsers. Every build runs each target's committed corpus and
# regression inputs through a plain driver (ctest fuzz_*_regress, a few seconds);
# `make fuzz` builds the libFuzzer binaries with clang (-DMAAC_FUZZ=ON) and runs them.
set(_fz ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
set(_fz_libs_wire maac_transport)
set(_fz_libs_ckpt maac_core)
set(_fz_libs_config maacd_lib)
foreach(t wire ckpt config)
  add_executable(fuzz_${t}_regress ${_fz}/fuzz_${t}.c ${_fz}/driver.c)
  target_link_libraries(fuzz_${t}_regress PRIVATE ${_fz_libs_${t}})
  add_test(NAME fuzz_${t}_regress COMMAND fuzz_${t}_regress ${_fz}/corpus/${t} ${_fz}/regress/${t})
  set_tests_properties(fuzz_${t}_regress PROPERTIES TIMEOUT 120 LABELS "fuzz"
      ENVIRONMENT "OPENBLAS_NUM_THREADS=1")
  if(MAAC_FUZZ)
    add_executable(fuzz_${t} ${_fz}/fuzz_${t}.c)
    target_link_libraries(fuzz_${t} PRIVATE ${_fz_libs_${t}})
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  endif()
endforeach()
