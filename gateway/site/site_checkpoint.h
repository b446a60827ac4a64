#pragma once
// Where the site stage stands, kept beside the journal (journal.dir/site-checkpoint.json, replaced
// atomically): a restart replays the journal from its oldest unconsumed record and knows which of the
// replayed records already had everything they produced made durable in the outbox.
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

namespace footfall::gateway {

struct SiteCheckpoint {
  // Every record <= this had all it produced (visits, presence changes) stored durably in the outbox:
  // on a replay, what those records produce again is not published again.
  std::uint64_t processed_through = 0;
  std::uint64_t consumed_through = 0;  // journal records <= this were released (informational)
  std::uint32_t retired_before = 0;    // key epochs below this were destroyed: never make them again
  // The site clock up to which visits closed in silence had their items durable too: a replay lets the
  // site clock pass to here (suppressed) once it has read processed_through. 0 in older checkpoints.
  std::int64_t processed_clock_ns = 0;
  bool operator==(const SiteCheckpoint&) const = default;
};

inline constexpr const char* kSiteCheckpointFile = "site-checkpoint.json";

// A missing file is a fresh start (all zero); a damaged one is an error naming the file.
std::variant<SiteCheckpoint, std::string> load_site_checkpoint(const std::filesystem::path& path);
// Temporary file, fdatasync, rename, directory fsync. Empty on success, else what failed.
std::string save_site_checkpoint(const std::filesystem::path& path, const SiteCheckpoint& checkpoint);

}  // namespace footfall::gateway
