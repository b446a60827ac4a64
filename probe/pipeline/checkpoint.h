#pragma once
// Where a file replay got to. Two records of it, and a restart with the same file resumes after the newer:
//  - every spooled batch carries the file's source id and the index of the last packet whose records are all in
//    it or older batches (spool::SourcePosition); it survives exactly as long as the batch, or its ack, does;
//  - `replay.checkpoint` in the spool directory, written atomically (temporary file, fdatasync, rename, directory
//    fsync) after a spool sync; it lags the batches, and names the file, so it is also the progress report.
// Presence state is not saved: devices present at the stop arrive afresh after a resume.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace footfall::probe::pipeline {

// Which file a checkpoint belongs to: a different or rewritten file starts from its first packet.
struct ReplayIdentity {
  std::string path;  // absolute
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const ReplayIdentity&) const = default;
};

// nullopt when the file cannot be stat'ed (standard input has no identity and is never resumed).
std::optional<ReplayIdentity> identify_replay_file(const std::string& path);

// 64-bit id of a replayed file (FNV-1a of path, size and mtime), never 0: tags the spooled batches' positions.
std::uint64_t replay_source_id(const ReplayIdentity& identity);

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

}  // namespace footfall::probe::pipeline
