#pragma once
// The simulator's command-line times: UTC instants ("2026-11-02T09:00:00Z") and durations ("10h", "1h30m").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace footfall::sim {

// "YYYY-MM-DDTHH:MM:SS[.fraction]Z" to nanoseconds since the Unix epoch.
std::optional<std::int64_t> parse_utc_timestamp(std::string_view text);

// One or more <number><unit> with units ms, s, m, h, d ("90s", "1h30m", "1.5h"); a bare number is seconds.
std::optional<std::int64_t> parse_duration_ns(std::string_view text);

// Nanoseconds since the epoch to "YYYY-MM-DDTHH:MM:SS[.nnnnnnnnn]Z".
std::string format_utc(std::int64_t ns);

}  // namespace footfall::sim
