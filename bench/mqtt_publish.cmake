# Benchmark: MicroBatcher + Publisher into a local mosquitto, run by bench/mqtt_publish.sh beside mosquitto_pub -l.
add_executable(mqtt_publish ${CMAKE_CURRENT_LIST_DIR}/mqtt_publish.cpp)
target_link_libraries(mqtt_publish PRIVATE footfall_gateway_publish footfall_warnings)
