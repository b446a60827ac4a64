# The operator report: content, escaping and CSV (test_report); the page in headless Chromium (test_report_browser).
add_executable(test_report
  ${CMAKE_CURRENT_LIST_DIR}/aggregator_doctest_main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_report.cpp)
target_link_libraries(test_report PRIVATE footfall_report doctest::doctest footfall_warnings)
add_test(NAME test_report COMMAND test_report)

add_executable(test_report_browser
  ${CMAKE_CURRENT_LIST_DIR}/aggregator_doctest_main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_report_browser.cpp)
target_link_libraries(test_report_browser PRIVATE footfall_report doctest::doctest footfall_warnings)
find_package(ZLIB)  # zlib1g-dev: decodes the screenshot; without it the test checks the file size only
if(ZLIB_FOUND)
  target_link_libraries(test_report_browser PRIVATE ZLIB::ZLIB)
  target_compile_definitions(test_report_browser PRIVATE FOOTFALL_TEST_HAVE_ZLIB=1)
endif()
add_test(NAME test_report_browser COMMAND test_report_browser)
set_tests_properties(test_report_browser PROPERTIES TIMEOUT 240)
