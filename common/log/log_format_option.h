#pragma once
// The --log-format option of the programs whose command line is CLI11's (the gateway and the aggregator; the
// probe's own parser reads the same names with parse_log_format). Accepted anywhere on the line, also after a
// subcommand's name.
#include <string>

#include <CLI/CLI.hpp>

#include "common/log/log_lines.h"

namespace footfall::log {

inline void add_log_format_option(CLI::App& app, std::string& format) {
  format = "auto";
  app.fallthrough();
  app.add_option("--log-format", format,
                 "log lines: text (time level program message), journal (<priority>message, for systemd's journal); "
                 "auto: journal when standard error is the journal's stream")
      ->check(CLI::IsMember({"auto", "text", "journal"}))
      ->capture_default_str();
}

}  // namespace footfall::log
