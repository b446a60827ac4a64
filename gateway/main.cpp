// footfall-gateway: receives probe batches into a durable journal.
//   footfall-gateway --config gateway.json            serve
//   footfall-gateway journal --config gateway.json    dump the held events as JSON lines
//   footfall-gateway --help-config                    the options table
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "gateway/commands/journal_dump.h"
#include "gateway/config/gateway_config.h"
#include "gateway/receive/server.h"

namespace {

using namespace footfall::gateway;

int serve(const GatewayConfig& config) {
  JournalOptions options;
  options.dir = config.journal_dir;
  options.max_bytes = config.journal_max_mb << 20;
  options.max_frame_bytes = config.max_frame_bytes;
  options.fsync = config.journal_fsync == JournalFsync::always;
  auto opened = Journal::open(options);
  if (!opened.journal) {
    spdlog::critical("{}", opened.error);
    return 1;
  }
  const JournalStats stats = opened.journal->stats();
  if (stats.torn_records != 0)
    spdlog::warn("journal: cut off {} torn record(s) at the tail (a crash mid-append; they were never acked)",
                 stats.torn_records);

  boost::asio::io_context io;
  ReceiveServer server(io, config, *opened.journal);
  if (const auto error = server.start()) {
    spdlog::critical("{}", error->message);
    return error->bad_config ? 2 : 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signo);
    server.stop();
  });
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_logger_mt("footfall-gateway");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);

  CLI::App app{"footfall-gateway: receives probe batches into a durable journal"};
  std::string config_path;
  bool help_config = false;
  app.add_option("--config", config_path, "gateway.json");
  app.add_flag("--help-config", help_config, "print the gateway.json options table and exit");
  auto* journal_cmd = app.add_subcommand("journal", "print every held event as one JSON object per line");
  std::string journal_config_path;
  journal_cmd->add_option("--config", journal_config_path, "gateway.json")->required();
  CLI11_PARSE(app, argc, argv);

  if (help_config) {
    std::cout << options_table();
    return 0;
  }
  const std::string& path = journal_cmd->parsed() ? journal_config_path : config_path;
  if (path.empty()) {
    std::cerr << "footfall-gateway: --config is required (see --help, --help-config)\n";
    return 2;
  }
  auto loaded = load_config(path);
  if (auto* error = std::get_if<std::string>(&loaded)) {
    std::cerr << *error << "\n";
    return 2;
  }
  const GatewayConfig& config = std::get<GatewayConfig>(loaded);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (journal_cmd->parsed()) return dump_journal(config, std::cout, std::cerr);
  return serve(config);
}
