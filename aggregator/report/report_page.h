#pragma once
// The HTML page of the report: sections in the order an operator reads them, from the headline 3A3R
// figures down to the definitions. Pure text building: no I/O.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace footfall::aggregator::report {

// The complete index.html for `document` (tolerates missing members: those sections say "no data").
std::string report_page(const nlohmann::json& document);

// The page's sections alone (what <main> holds), for a page that frames them (the served dashboard).
std::string report_sections(const nlohmann::json& document);
// The page's style sheet (screen and print).
std::string_view report_style();

}  // namespace footfall::aggregator::report
