# Benchmark: report_document over a generated site-year, run by bench/aggregate_report.sh beside sqlite3.
add_executable(aggregate_rows ${CMAKE_CURRENT_LIST_DIR}/aggregate_rows.cpp)
target_link_libraries(aggregate_rows PRIVATE footfall_aggregator_aggregate footfall_warnings)
