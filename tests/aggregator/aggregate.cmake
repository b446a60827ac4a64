# Aggregation core tests: figures on hand-built visits whose answers are known by construction; the report
# document checked against docs/schema/report-document.schema.json with the publish tests' schema checker.
add_executable(test_aggregate
  ${CMAKE_CURRENT_LIST_DIR}/test_aggregate_main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_aggregate_thresholds.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_aggregate_figures.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_aggregate_report.cpp
  ${PROJECT_SOURCE_DIR}/tests/publish/schema_check.cpp)
target_link_libraries(test_aggregate PRIVATE footfall_aggregate doctest::doctest footfall_warnings)
target_compile_definitions(test_aggregate PRIVATE FOOTFALL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_test(NAME test_aggregate COMMAND test_aggregate)
