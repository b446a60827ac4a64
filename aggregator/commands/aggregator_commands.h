#pragma once
// The footfall-aggregator subcommands, callable from main and from tests. Each returns the exit status:
// 0 success, 1 done with rejected input (counted and printed), 2 usage or configuration error, 3 runtime
// failure (store, broker), 4 the store to read does not exist (report).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace footfall::aggregator {

constexpr int kExitNoStore = 4;

struct CommonOptions {
  std::filesystem::path config;  // aggregator.json
  std::filesystem::path store;   // --store: instead of store.path of a config
  std::string tenant;            // --tenant: instead of the config's only tenant
};

// Blocks SIGINT and SIGTERM in the calling thread (call first in main, before any thread starts) so that
// run() can wait for them with sigtimedwait instead of a handler.
void block_stop_signals();

int run_command(const CommonOptions& common);
int import_sales_command(const CommonOptions& common, const std::string& site, const std::filesystem::path& csv);
// Writes the report; with print_summary also prints the 3A3R table and flow summary on standard output.
int report_command(const CommonOptions& common, const std::string& site, const std::string& from_date,
                   const std::string& to_date, const std::filesystem::path& out_dir, bool print_summary = false);
// Ingests a file of "topic<TAB>payload" lines; prints the counters as one JSON object on stdout.
int ingest_file_command(const CommonOptions& common, const std::filesystem::path& file);
// Applies the schema migrations this build knows to the configured store; prints its schema version.
int migrate_command(const CommonOptions& common);
// Copies every site's visits, sales, occupancy and alerts from one store to another (SQLite to PostgreSQL
// or back); what the destination holds already is skipped, so it can be run again after an interruption.
int copy_store_command(const CommonOptions& from, const CommonOptions& to);
// Serves the operators' dashboard (serve.* of the config) until SIGINT or SIGTERM; prints
// "serve: listening on http(s)://ADDRESS:PORT" on standard output once it accepts.
int serve_command(const CommonOptions& common);
// Reads a password from standard input (one line) and prints its hash for serve.users.*.password_hash.
int hash_password_command(std::uint32_t iterations);

}  // namespace footfall::aggregator
