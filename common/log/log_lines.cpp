#include "common/log/log_lines.h"

#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace footfall::log {

namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e %l %n %v";
constexpr const char* kJournalPattern = "<%*>%v";

// The syslog priority of a level (sd-daemon(3)): 3 err, 4 warning, 5 notice... 6 info, 7 debug.
class SyslogPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    char digit = '6';
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: digit = '7'; break;
      case spdlog::level::info: digit = '6'; break;
      case spdlog::level::warn: digit = '4'; break;
      case spdlog::level::err: digit = '3'; break;
      case spdlog::level::critical: digit = '2'; break;
      default: break;
    }
    dest.push_back(digit);
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriority>();
  }
};

// Writes to a C stream: the probe's commands log to the stream they are given, and iostreams stay out of the probe.
class FileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FileSink(std::FILE* file) : file_(file) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), file_);
  }
  void flush_() override { std::fflush(file_); }

 private:
  std::FILE* file_;
};

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "auto") return LogFormat::automatic;
  if (name == "text") return LogFormat::text;
  if (name == "journal") return LogFormat::journal;
  return std::nullopt;
}

bool is_journal_stream(int fd) {
  const char* value = std::getenv("JOURNAL_STREAM");
  if (value == nullptr || fd < 0) return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  if (std::sscanf(value, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == device && static_cast<unsigned long long>(st.st_ino) == inode;
}

LogFormat resolve(LogFormat format, std::FILE* file) {
  if (format != LogFormat::automatic) return format;
  return is_journal_stream(file == nullptr ? -1 : ::fileno(file)) ? LogFormat::journal : LogFormat::text;
}

void use_log_lines(std::string_view program, LogFormat format, std::FILE* file, std::string_view level) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (resolve(format, file) == LogFormat::journal) {
    formatter->add_flag<SyslogPriority>('*').set_pattern(kJournalPattern);
  } else {
    formatter->set_pattern(kTextPattern);
  }
  auto sink = std::make_shared<FileSink>(file);
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>(std::string(program), std::move(sink));
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace footfall::log
