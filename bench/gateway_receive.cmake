# Gateway receive throughput (bench/gateway_receive.sh runs it). Included from bench/CMakeLists.txt.
add_executable(gateway_receive ${PROJECT_SOURCE_DIR}/bench/gateway_receive.cpp)
target_include_directories(gateway_receive PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(gateway_receive PRIVATE footfall_gateway_receive footfall_warnings)
