# Included from tests/CMakeLists.txt: the fuzz_packet harness as a regression test in every build (so the asan
# preset runs it under sanitizers), and footfall-fuzz-corpus, which turns captures into seed inputs.
add_library(footfall_fuzz_inputs STATIC ${CMAKE_CURRENT_LIST_DIR}/capture_inputs.cpp)
target_include_directories(footfall_fuzz_inputs PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(footfall_fuzz_inputs PUBLIC footfall_probe_capture footfall_probe_parse PRIVATE footfall_warnings)

add_executable(fuzz_packet_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_packet.cpp ${CMAKE_CURRENT_LIST_DIR}/replay_main.cpp)
target_link_libraries(fuzz_packet_replay PRIVATE footfall_fuzz_inputs footfall_warnings)
add_test(NAME fuzz_packet_replay COMMAND fuzz_packet_replay "${FOOTFALL_SHARED_DIR}/captures")

add_executable(footfall-fuzz-corpus ${CMAKE_CURRENT_LIST_DIR}/corpus_from_captures.cpp)
target_link_libraries(footfall-fuzz-corpus PRIVATE footfall_fuzz_inputs footfall_warnings)

# The aggregator's payload parser and the three config loaders: their committed seed corpora (fuzz/corpus/) run
# through the same harness in every build.
if(TARGET footfall_aggregator_ingest AND TARGET footfall_gateway_config)
  add_executable(fuzz_payload_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_payload.cpp
                                     ${CMAKE_CURRENT_LIST_DIR}/corpus_replay_main.cpp)
  target_link_libraries(fuzz_payload_replay PRIVATE footfall_aggregator_ingest footfall_warnings)
  add_test(NAME fuzz_payload_replay COMMAND fuzz_payload_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/payload)

  add_executable(fuzz_config_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_config.cpp
                                    ${CMAKE_CURRENT_LIST_DIR}/corpus_replay_main.cpp)
  target_link_libraries(fuzz_config_replay PRIVATE footfall_probe_config footfall_gateway_config
                                                   footfall_aggregator_config footfall_warnings)
  add_test(NAME fuzz_config_replay COMMAND fuzz_config_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/config)
endif()
