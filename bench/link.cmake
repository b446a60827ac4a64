# Probe -> gateway link benchmarks (bench/link_bytes.sh, bench/probe_pipeline.sh run them; never ctest).
# Included from bench/CMakeLists.txt.
add_executable(link_bytes ${PROJECT_SOURCE_DIR}/bench/link_bytes.cpp)
target_link_libraries(link_bytes PRIVATE footfall_probe_pipeline footfall_probe_config footfall_warnings)

add_executable(probe_pipeline ${PROJECT_SOURCE_DIR}/bench/probe_pipeline.cpp)
target_link_libraries(probe_pipeline PRIVATE footfall_probe_pipeline footfall_probe_config footfall_sim_lib footfall_warnings)
