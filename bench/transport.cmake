# bench/transport.cmake -- wire protocol round trip vs bare ZeroMQ; transitions/s.
add_executable(bench_transport ${CMAKE_CURRENT_SOURCE_DIR}/transport.c)
target_link_libraries(bench_transport PRIVATE maac_transport PkgConfig::ZMQ Threads::Threads)
