#include "gateway/config/running_gateway.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/atomic_file.h"

namespace footfall::gateway {

namespace {

namespace fs = std::filesystem;

constexpr auto kPollPause = std::chrono::milliseconds(20);

std::optional<std::string> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

PidFile::PidFile(fs::path path) : path_(std::move(path)) {
  // A reader never sees half a number.
  if (const auto e = atomic_file::write(path_, std::to_string(::getpid()) + "\n")) error_ = e->message();
}

PidFile::~PidFile() {
  if (!error_.empty()) return;
  std::error_code ec;
  fs::remove(path_, ec);
}

std::optional<pid_t> running_gateway(const fs::path& journal_dir) {
  const auto text = slurp(journal_dir / kPidFileName);
  if (!text) return std::nullopt;
  long pid = 0;
  try {
    pid = std::stol(*text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (pid <= 1 || pid == ::getpid()) return std::nullopt;
  // /proc/PID/cmdline: NUL-separated argv. The gateway serving: argv[0] is footfall-gateway and no subcommand.
  const auto cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline || cmdline->empty()) return std::nullopt;
  std::vector<std::string> argv;
  std::istringstream parts(*cmdline);
  for (std::string a; std::getline(parts, a, '\0');) argv.push_back(a);
  if (argv.empty() || fs::path(argv[0]).filename() != "footfall-gateway") return std::nullopt;
  if (argv.size() > 1 && (argv[1] == "provision" || argv[1] == "journal")) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::optional<ReloadFigures> read_reload_figures(const fs::path& journal_dir) {
  const auto text = slurp(journal_dir / "health.json");
  if (!text) return std::nullopt;
  const auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.contains("config") || !doc["config"].is_object()) return std::nullopt;
  const auto& c = doc["config"];
  ReloadFigures f;
  f.ok = c.value("reloads_ok", std::uint64_t{0});
  f.failed = c.value("reloads_failed", std::uint64_t{0});
  f.last_error = c.value("last_error", std::string());
  if (c.contains("needs_restart") && c["needs_restart"].is_array())
    for (const auto& k : c["needs_restart"])
      if (k.is_string()) f.needs_restart.push_back(k.get<std::string>());
  return f;
}

ReloadAnswer ask_gateway_to_reload(const fs::path& journal_dir, std::chrono::milliseconds limit) {
  ReloadAnswer answer;
  const auto pid = running_gateway(journal_dir);
  if (!pid) return answer;
  answer.pid = *pid;
  const ReloadFigures before = read_reload_figures(journal_dir).value_or(ReloadFigures{});
  if (::kill(*pid, SIGHUP) != 0) {
    answer.status = ReloadAnswer::Status::not_signalled;
    answer.detail = std::strerror(errno);
    return answer;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (const auto now = read_reload_figures(journal_dir)) {
      if (now->failed > before.failed) {
        answer.status = ReloadAnswer::Status::refused;
        answer.figures = *now;
        return answer;
      }
      if (now->ok > before.ok) {
        answer.status = ReloadAnswer::Status::reloaded;
        answer.figures = *now;
        return answer;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollPause);
  }
  answer.status = ReloadAnswer::Status::no_answer;
  return answer;
}

}  // namespace footfall::gateway
