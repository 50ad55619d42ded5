# tests/transport.cmake -- wire protocol codec, ZeroMQ link, Python example client.
maac_test(test_wire test_wire.c LIBS maac_transport PkgConfig::MSGPACK)
# test_wire counts malloc calls around the decoder (no allocation on the control path).
target_link_options(test_wire PRIVATE -Wl,--wrap=malloc)
maac_test(test_link test_link.c LIBS maac_transport TIMEOUT 60)
