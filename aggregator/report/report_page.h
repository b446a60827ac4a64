#pragma once
// The HTML page of the report: sections in the order an operator reads them, from the headline 3A3R
// figures down to the definitions. Pure text building: no I/O.
#include <string>

#include <nlohmann/json.hpp>

namespace footfall::aggregator::report {

// The complete index.html for `document` (tolerates missing members: those sections say "no data").
std::string report_page(const nlohmann::json& document);

}  // namespace footfall::aggregator::report
