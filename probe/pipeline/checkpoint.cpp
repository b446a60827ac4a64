#include "probe/pipeline/checkpoint.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/file_text.h"

namespace footfall::probe::pipeline {

namespace {
constexpr const char* kFileName = "replay.checkpoint";
}

std::optional<ReplayIdentity> identify_replay_file(const std::string& path) {
  if (path == "-") return std::nullopt;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec);
  ReplayIdentity id;
  id.path = ec ? path : absolute.lexically_normal().string();
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return id;
}

std::uint64_t replay_source_id(const ReplayIdentity& identity) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&h](const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  mix(identity.path.data(), identity.path.size());
  for (int i = 0; i < 8; ++i) {
    const auto size_byte = static_cast<unsigned char>(identity.size >> (8 * i));
    const auto mtime_byte = static_cast<unsigned char>(static_cast<std::uint64_t>(identity.mtime_ns) >> (8 * i));
    mix(&size_byte, 1);
    mix(&mtime_byte, 1);
  }
  return h == 0 ? 1 : h;
}

ReplayCheckpoint::ReplayCheckpoint(std::filesystem::path spool_dir, ReplayIdentity identity)
    : dir_(std::move(spool_dir)), path_(dir_ / kFileName), identity_(std::move(identity)) {}

std::uint64_t ReplayCheckpoint::load(std::string& note) const {
  const FileText file = read_file(path_, 1 << 20);
  if (!file.opened) {
    note = "no checkpoint: starting at the first packet";
    return 0;
  }
  const auto doc = nlohmann::json::parse(file.text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("packets") || !doc["packets"].is_number_unsigned()) {
    note = "checkpoint unreadable: starting at the first packet";
    return 0;
  }
  const ReplayIdentity saved{doc.value("file", std::string{}), doc.value("size", std::uint64_t{0}),
                             doc.value("mtime_ns", std::int64_t{0})};
  if (!(saved == identity_)) {
    note = "checkpoint belongs to another file (" + saved.path + "): starting at the first packet";
    return 0;
  }
  const auto packets = doc["packets"].get<std::uint64_t>();
  note = "resuming after packet " + std::to_string(packets);
  return packets;
}

bool ReplayCheckpoint::save(std::uint64_t packet_index, std::string& error) const {
  const nlohmann::json doc{{"file", identity_.path},
                           {"size", identity_.size},
                           {"mtime_ns", identity_.mtime_ns},
                           {"packets", packet_index}};
  if (const auto e = atomic_file::write(path_, doc.dump() + "\n")) {
    error = e->message();
    return false;
  }
  return true;
}

}  // namespace footfall::probe::pipeline
