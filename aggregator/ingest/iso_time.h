#pragma once
// UTC timestamps of the feed ("2024-05-01T10:15:05.010Z") and calendar dates ("2024-05-01") to and from
// milliseconds since the Unix epoch. No locale and no time zone database (a site's zone is aggregate/local_time).
#include <optional>
#include <string>
#include <string_view>

#include "aggregator/model/site_records.h"
#include "common/civil_date.h"

namespace footfall::aggregator {

// "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" -> ms (fraction truncated to ms); nullopt for anything else.
std::optional<TimeMs> parse_iso8601_utc(std::string_view text);
// As parse_iso8601_utc, or with an offset instead of Z: "2026-11-25T10:15:00+01:00" is 09:15:00Z.
std::optional<TimeMs> parse_iso8601_with_offset(std::string_view text);
// Always "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_iso8601_utc(TimeMs t);
// "YYYY-MM-DD" -> ms of that day's midnight UTC.
std::optional<TimeMs> parse_date_utc(std::string_view text);

// Calendar arithmetic shared with the gateway (common/civil_date.h).
using footfall::CivilDate;
using footfall::civil_from_days;
using footfall::days_from_civil;
using footfall::floor_div;

}  // namespace footfall::aggregator
