#pragma once
// How `footfall-gateway provision` reaches a gateway that is running: the gateway writes its pid into
// gateway.pid in its journal folder once it handles SIGHUP (and removes it when it stops); provision signals
// that pid and reads the reload counters of health.json, which the gateway rewrites after every reload.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace footfall::gateway {

inline constexpr std::string_view kPidFileName = "gateway.pid";

// gateway.pid for as long as the object lives (the journal's lock already makes the gateway the only one).
class PidFile {
 public:
  explicit PidFile(std::filesystem::path path);
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  [[nodiscard]] const std::string& error() const { return error_; }  // empty: written

 private:
  std::filesystem::path path_;
  std::string error_;
};

// The pid of the footfall-gateway serving `journal_dir`, checked in /proc (a stale file names another
// program or none); nullopt when no gateway runs there.
std::optional<pid_t> running_gateway(const std::filesystem::path& journal_dir);

// The "config" object of health.json: reloads so far and what the latest one said.
struct ReloadFigures {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::string last_error;
  std::vector<std::string> needs_restart;
};
std::optional<ReloadFigures> read_reload_figures(const std::filesystem::path& journal_dir);

struct ReloadAnswer {
  enum class Status : std::uint8_t {
    not_running,    // no gateway serves this journal: it reads the file when it starts
    not_signalled,  // kill(2) failed (another user's gateway): `detail` says why
    reloaded,       // it took the file (`figures.needs_restart` may list keys it did not take)
    refused,        // it kept its running config: `figures.last_error` names the key
    no_answer,      // no reload seen in health.json within the limit
  };
  Status status = Status::not_running;
  pid_t pid = 0;
  std::string detail;
  ReloadFigures figures;
};
// Sends SIGHUP to the gateway serving `journal_dir` and waits (polling health.json, bounded) for its answer.
ReloadAnswer ask_gateway_to_reload(const std::filesystem::path& journal_dir, std::chrono::milliseconds limit);

}  // namespace footfall::gateway
