// footfall-aggregator: consumes the sites' MQTT feeds into a store, publishes figures and alerts, imports
// sales and writes reports. docs/aggregator.md.
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "aggregator/commands/aggregator_commands.h"
#include "aggregator/config/aggregator_config.h"
#include "aggregator/serve/password_hash.h"
#include "common/log/log_format_option.h"
#include "common/log/log_lines.h"

int main(int argc, char** argv) {
  using namespace footfall::aggregator;
  block_stop_signals();  // before any thread exists, so every thread inherits the mask
  // Logs go to standard error: standard output carries the JSON summaries and the report summary.
  namespace log = footfall::log;
  log::use_log_lines("footfall-aggregator", log::LogFormat::automatic, stderr);

  CLI::App app{"footfall-aggregator: MQTT feeds of the sites -> store -> figures, alerts and reports"};
  app.require_subcommand(0, 1);
  bool help_config = false;
  app.add_flag("--help-config", help_config, "print every aggregator.json key with its type and default");
  app.set_version_flag("--version", "footfall-aggregator " FOOTFALL_VERSION);
  std::string log_format;
  footfall::log::add_log_format_option(app, log_format);

  CommonOptions common;
  auto add_common = [&](CLI::App* sub, bool store_alternative) {
    auto* config = sub->add_option("--config", common.config, "aggregator.json");
    if (store_alternative) {
      auto* store = sub->add_option("--store", common.store, "SQLite store (instead of the config's store.path)");
      sub->add_option("--tenant", common.tenant, "tenant (default: the config's only tenant)");
      (void)store;
    } else {
      config->required();
    }
  };

  auto* run = app.add_subcommand("run", "subscribe to the feeds, store them, publish figures and alerts");
  add_common(run, false);

  std::string site;
  std::filesystem::path csv;
  auto* import_sales = app.add_subcommand("import-sales", "import a sales CSV (sale_id,site,time,amount)");
  add_common(import_sales, true);
  import_sales->add_option("--site", site, "site the sales belong to")->required();
  import_sales->add_option("--csv", csv, "CSV file")->required();

  std::string from, to;
  std::filesystem::path out_dir;
  auto* report = app.add_subcommand("report", "write the HTML and CSV report of one site");
  add_common(report, true);
  report->add_option("--site", site, "site (one the store or the config knows; else exit 2, naming them)")->required();
  report->footer("Exit status: 0 written; 2 usage or configuration error (an unknown --site too); 3 store or "
                 "runtime failure; 4 the store does not exist (it is never created). Progress goes to standard error.");
  report->add_option("--from", from, "first local day, YYYY-MM-DD")->required();
  report->add_option("--to", to, "last local day (included), YYYY-MM-DD")->required();
  report->add_option("--out", out_dir, "output folder")->required();
  bool print_summary = false;
  report->add_flag("--summary", print_summary, "also print the 3A3R table and the visitor-flow summary");

  std::filesystem::path feed_file;
  auto* ingest_file = app.add_subcommand("ingest-file", "ingest a file of topic<TAB>payload lines (no broker)");
  add_common(ingest_file, true);
  ingest_file->add_option("file", feed_file, "file of topic<TAB>payload lines")->required();

  auto* migrate = app.add_subcommand("migrate", "apply the store's schema migrations (run does it too) and print its version");
  add_common(migrate, true);

  std::filesystem::path copy_from, copy_to;
  auto* copy_store = app.add_subcommand(
      "copy-store", "copy every site's visits, sales, occupancy and alerts from one store to another (SQLite -> PostgreSQL)");
  copy_store->add_option("--from", copy_from, "source: an aggregator.json (its store) or a SQLite file")->required();
  copy_store->add_option("--to", copy_to, "destination: an aggregator.json (its store) or a SQLite file")->required();

  auto* serve = app.add_subcommand("serve", "serve the operators' dashboard (serve.* of the config; docs/operators.md)");
  add_common(serve, false);

  std::uint32_t iterations = serve::kDefaultIterations;
  auto* hash_password = app.add_subcommand(
      "hash-password", "read a password (one line) on standard input, print its hash for serve.users.*.password_hash");
  hash_password->add_option("--iterations", iterations, "PBKDF2-HMAC-SHA256 iterations")->check(CLI::Range(1, 100'000'000));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (help_config) {
    std::cout << options_table();
    return 0;
  }
  log::use_log_lines("footfall-aggregator", *log::parse_log_format(log_format), stderr);
  if (*run) return run_command(common);
  if (*import_sales) return import_sales_command(common, site, csv);
  if (*report) return report_command(common, site, from, to, out_dir, print_summary);
  if (*ingest_file) return ingest_file_command(common, feed_file);
  if (*migrate) return migrate_command(common);
  if (*serve) return serve_command(common);
  if (*hash_password) return hash_password_command(iterations);
  if (*copy_store) {
    // A .json is a config (its store.*), anything else a SQLite file.
    const auto side = [](const std::filesystem::path& p) {
      CommonOptions o;
      (p.extension() == ".json" ? o.config : o.store) = p;
      return o;
    };
    return copy_store_command(side(copy_from), side(copy_to));
  }
  std::cerr << app.help();
  return 2;
}
