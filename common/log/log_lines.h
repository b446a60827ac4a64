#pragma once
// One log line format for the three programs. Text: "2026-11-02T09:00:00.123 info footfall-gateway site: message"
// (time, level, program, then the message, which starts with its stage by convention). Journal: "<6>site: message",
// the sd-daemon priority prefix and no time stamp, since journald stamps and tags every line itself.
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace footfall::log {

enum class LogFormat : unsigned char {
  automatic,  // journal when standard error is the stream systemd's journal handed over (JOURNAL_STREAM), else text
  text,
  journal,
};

inline constexpr std::string_view kLogFormatChoices = "auto|text|journal";

// "auto", "text", "journal"; nullopt for anything else.
[[nodiscard]] std::optional<LogFormat> parse_log_format(std::string_view name);

// True when JOURNAL_STREAM ("device:inode") names the file open on `fd` (systemd.exec(5), $JOURNAL_STREAM).
[[nodiscard]] bool is_journal_stream(int fd);

// automatic -> text or journal, looking at `file`'s descriptor.
[[nodiscard]] LogFormat resolve(LogFormat format, std::FILE* file);

// Makes the default spdlog logger named `program` write lines in `format` to `file` at `level` ("info", ...).
void use_log_lines(std::string_view program, LogFormat format, std::FILE* file, std::string_view level = "info");

}  // namespace footfall::log
