#pragma once
// Where a file replay got to: the index of the last packet whose events are in the spool. Written atomically
// (temporary file, fdatasync, rename, directory fsync) into the spool directory, so a restart with the same file
// resumes after it. Presence state is not saved: devices present at the stop arrive afresh after a resume.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace footfall::pipeline {

// Which file a checkpoint belongs to: a different or rewritten file starts from its first packet.
struct ReplayIdentity {
  std::string path;  // absolute
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const ReplayIdentity&) const = default;
};

// nullopt when the file cannot be stat'ed (standard input has no identity and is never resumed).
std::optional<ReplayIdentity> identify_replay_file(const std::string& path);

class ReplayCheckpoint {
 public:
  ReplayCheckpoint(std::filesystem::path spool_dir, ReplayIdentity identity);

  // Packets to skip: the saved index when the checkpoint names this same file, else 0 (`note` says why).
  [[nodiscard]] std::uint64_t load(std::string& note) const;
  // Returns false (errno-style message in `error`) when it could not be written; replay goes on regardless.
  bool save(std::uint64_t packet_index, std::string& error) const;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
  ReplayIdentity identity_;
};

}  // namespace footfall::pipeline
