#pragma once
// The dashboard's own style sheet and script, compiled in: the pages load nothing from elsewhere (offline).
#include <string_view>

namespace footfall::aggregator::serve {

struct Asset {
  std::string_view content_type;
  std::string_view text;
};

// dashboard.css, dashboard.js; nullptr for any other name.
const Asset* find_asset(std::string_view name);

}  // namespace footfall::aggregator::serve
