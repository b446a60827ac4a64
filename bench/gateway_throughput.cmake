# Benchmark: the gateway's site stage (journal -> merge -> pseudonymize -> publish) into a local mosquitto,
# run by bench/gateway_throughput.sh beside mosquitto_pub -l over the same events.
find_package(spdlog REQUIRED)
add_executable(gateway_throughput ${CMAKE_CURRENT_LIST_DIR}/gateway_throughput.cpp)
target_link_libraries(gateway_throughput PRIVATE footfall_gateway_site footfall_wire nlohmann_json::nlohmann_json spdlog::spdlog footfall_warnings)
