#include "aggregator/commands/aggregator_commands.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <variant>
#include <thread>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "aggregator/aggregate/figures.h"
#include "aggregator/aggregate/report_document.h"
#include "aggregator/aggregate/thresholds.h"
#include "aggregator/config/aggregator_config.h"
#include "aggregator/ingest/feed_subscriber.h"
#include "aggregator/ingest/ingest_pipeline.h"
#include "aggregator/ingest/iso_time.h"
#include "aggregator/publish/figures_publisher.h"
#include "aggregator/publish/occupancy_publisher.h"
#include "aggregator/store/postgres_store.h"
#include "aggregator/store/sales_csv.h"
#include "aggregator/store/sqlite_store.h"
#include "common/clock.h"
#include "aggregator/report/report_writer.h"
#include "aggregator/commands/report_summary.h"
#include "aggregator/serve/dashboard.h"
#include "aggregator/serve/http_server.h"
#include "aggregator/serve/password_hash.h"
#include "aggregator/serve/site_report.h"

namespace footfall::aggregator {
namespace {

std::optional<std::string> check_thresholds(const nlohmann::json& j) {
  try {
    (void)SiteThresholds::from_json(j);
    return std::nullopt;
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
}

// The configuration the command works with: the file's, or defaults with --store.
std::optional<AggregatorConfig> resolve(const CommonOptions& common) {
  AggregatorConfig cfg;
  if (!common.config.empty()) {
    auto loaded = load_config(common.config, check_thresholds);
    if (auto* error = std::get_if<std::string>(&loaded)) {
      std::cerr << "footfall-aggregator: " << *error << "\n";
      return std::nullopt;
    }
    cfg = std::get<AggregatorConfig>(std::move(loaded));
  }
  if (!common.store.empty()) {  // --store is a SQLite file, whatever the config's backend
    cfg.store_path = common.store;
    cfg.store_backend = "sqlite";
  }
  if (common.config.empty() && common.store.empty()) {
    std::cerr << "footfall-aggregator: give --config FILE or --store PATH\n";
    return std::nullopt;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  return cfg;
}

std::string resolve_tenant(const CommonOptions& common, const AggregatorConfig& cfg) {
  if (!common.tenant.empty()) return common.tenant;
  return cfg.only_tenant();
}

// Whether opening a PostgreSQL store may migrate it. A database shared by running instances is migrated by
// `migrate`, `run` and a copy into it; a report or an import only uses it, and says so when its schema is not
// this build's (an instance of an older build would be writing to a schema it does not know).
enum class SchemaUse : std::uint8_t { migrate, as_is };

// The store the config names: a SQLite file (always brought to this build's schema: it is this instance's own),
// or the PostgreSQL database.
std::unique_ptr<SiteStore> open_store(const AggregatorConfig& cfg, SchemaUse use = SchemaUse::as_is) {
  try {
    if (cfg.store_backend == "postgresql")
      return PostgresStore::open(
          PostgresStoreOptions{cfg.postgresql.conninfo, cfg.postgresql.pool_size, {}, use == SchemaUse::migrate});
    return SqliteStore::open(cfg.store_path);
  } catch (const std::exception& e) {
    std::cerr << "footfall-aggregator: " << (cfg.store_backend == "postgresql" ? "store.postgresql" : "store.path")
              << ": " << e.what() << "\n";
    return nullptr;
  }
}

// What prune() may remove now: batch ids older than store.batch_ids_days, each tenant's data older than its
// retention_days.
RetentionRules retention_rules(const AggregatorConfig& cfg, TimeMs now) {
  constexpr TimeMs kDay = 86'400'000;
  RetentionRules rules{now - TimeMs{cfg.batch_ids_days} * kDay, {}};
  for (const auto& [tenant, days] : cfg.retention_days)
    if (days > 0) rules.tenant_cutoffs.emplace_back(tenant, now - TimeMs{days} * kDay);
  return rules;
}

void prune_store(SiteStore& store, const AggregatorConfig& cfg) {
  try {
    const PruneOutcome out = store.prune(retention_rules(cfg, clock::wall_ms()));
    spdlog::info("store: pruned batch_ids={} visits={} visit_partitions={} occupancy={} sales={} alerts={}", out.batch_ids,
                 out.visits, out.visit_partitions, out.occupancy, out.sales, out.alerts);
  } catch (const std::exception& e) {
    spdlog::error("store: pruning failed (tried again in an hour): {}", e.what());
  }
}

nlohmann::json counters_json(const IngestCounters& c) {
  return nlohmann::json{{"messages", c.messages},
                        {"status_messages", c.status_messages},
                        {"malformed", c.malformed},
                        {"batches_stored", c.batches_stored},
                        {"batches_duplicate", c.batches_duplicate},
                        {"visits_stored", c.visits_stored},
                        {"visits_duplicate", c.visits_duplicate},
                        {"sales_stored", c.sales_stored},
                        {"sales_duplicate", c.sales_duplicate},
                        {"occupancy_samples", c.occupancy_samples},
                        {"probe_updates", c.probe_updates},
                        {"store_errors", c.store_errors},
                        {"queue_full_waits", c.queue.full_waits},
                        {"queue_high_water", c.queue.high_water}};
}

// Several instances share the feed: a site's presence batches reach any of them, so the site's lease holder
// publishes its occupancy from the store (the newest sample of the last 10 minutes), not from what it received.
std::map<SiteKey, OccupancySample> held_occupancy(SiteStore& store, const SiteLeases& leases) {
  constexpr TimeMs kRecent = 600'000;
  std::map<SiteKey, OccupancySample> out;
  try {
    for (OccupancySample& s : store.latest_occupancy(clock::wall_ms() - kRecent)) {
      SiteKey key{s.tenant, s.site};
      if (leases.holds(key)) out.emplace(std::move(key), std::move(s));
    }
  } catch (const std::exception& e) {
    spdlog::warn("publish: occupancy not read from the store: {}", e.what());
  }
  return out;
}

// Polls the MQTT client, publishes figures, logs progress once a minute and prunes the store once an hour
// until SIGINT or SIGTERM.
void serve_until_stopped(FeedSubscriber& subscriber, std::vector<std::unique_ptr<FeedSubscriber>>& more_sessions, IngestPipeline& pipeline, FiguresPublisher& figures,
                         OccupancyPublisher& occupancy, SiteStore& store, SiteLeases* leases,
                         const AggregatorConfig& cfg) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  auto last_progress = std::chrono::steady_clock::now();
  auto last_prune = last_progress;
  std::optional<std::chrono::steady_clock::time_point> broker_lost_at;
  prune_store(store, cfg);
  while (true) {
    const timespec one_second{1, 0};
    const int sig = sigtimedwait(&stop_signals, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("aggregator: signal {}: stopping", sig);
      return;
    }
    subscriber.poll();
    for (auto& session : more_sessions) session->poll();
    if (subscriber.connected()) {
      broker_lost_at.reset();
    } else if (leases != nullptr) {
      // A publisher that cannot reach its broker keeps its sites dark: after 10 s it gives them to the others.
      if (!broker_lost_at) broker_lost_at = std::chrono::steady_clock::now();
      if (std::chrono::steady_clock::now() - *broker_lost_at >= std::chrono::seconds(10)) leases->give_up();
    }
    if (cfg.publish_enabled && subscriber.connected()) {
      figures.tick(clock::wall_ms(), pipeline.take_dirty_sites());
      auto received = pipeline.take_occupancy();
      occupancy.publish(leases != nullptr ? held_occupancy(store, *leases) : std::move(received), clock::wall_ms());
    }
    if (std::chrono::steady_clock::now() - last_progress >= std::chrono::seconds(60)) {
      last_progress = std::chrono::steady_clock::now();
      if (const std::string line = pipeline.progress_line(); !line.empty()) spdlog::info("ingest: {}", line);
    }
    if (std::chrono::steady_clock::now() - last_prune >= std::chrono::hours(1)) {
      last_prune = std::chrono::steady_clock::now();
      prune_store(store, cfg);
    }
  }
}

// Disconnects and drains the pipeline; with a batch the store keeps refusing, exits at once instead.
void stop_serving(FeedSubscriber& subscriber, std::vector<std::unique_ptr<FeedSubscriber>>& more_sessions,
                  IngestPipeline& pipeline) {
  if (pipeline.counters().store_errors > 0 && pipeline.retrying()) {
    // Returning from the MQTT callback now would let the client forget a message that is not stored:
    // leave without it, the client's persistence delivers it again on the next start.
    spdlog::critical("aggregator: the store is failing with a batch pending: exiting without acknowledging it");
    std::fflush(nullptr);
    std::_Exit(3);
  }
  subscriber.stop();
  for (auto& session : more_sessions) session->stop();
  pipeline.stop();
  spdlog::info("ingest: {}", pipeline.progress_line());
}

}  // namespace

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_command(const CommonOptions& common) {
  const auto cfg = resolve(common);
  if (!cfg) return 2;
  if (cfg->mqtt.uri.empty()) {
    std::cerr << "footfall-aggregator: mqtt.uri: required by run\n";
    return 2;
  }
  auto writer_store = open_store(*cfg, SchemaUse::migrate);
  if (!writer_store) return 3;
  // SQLite: the publisher's own connection reads while the writer writes. PostgreSQL: one store, its pool
  // lends each thread a connection.
  std::unique_ptr<SiteStore> reader_store;
  if (cfg->store_backend != "postgresql") {
    reader_store = open_store(*cfg);
    if (!reader_store) return 3;
  }
  SiteStore& reader = reader_store ? *reader_store : *writer_store;
  std::unique_ptr<PostgresLeases> leases;
  if (cfg->store_backend == "postgresql") leases = std::make_unique<PostgresLeases>(cfg->postgresql.conninfo);

  // One store writer per MQTT session: each session's callback waits for its own batch's commit, so N sessions
  // keep N messages in flight and their commits overlap.
  IngestPipeline pipeline(*writer_store, cfg->queue_capacity, clock::wall_ms, cfg->ingest_sessions);
  const FeedSubscriber::Handler store_message = [&](const std::string& topic, const std::string& payload) {
    // Returns only once stored: the client then drops its persisted copy (see IngestPipeline).
    if (pipeline.submit(topic, payload, true) == SubmitOutcome::refused)
      spdlog::warn("ingest: message on {} refused while stopping; the broker or the client's persistence keeps it",
                   topic);
  };
  FeedSubscriber subscriber(cfg->mqtt, cfg->mqtt_persist_dir(), store_message);
  std::vector<std::unique_ptr<FeedSubscriber>> more_sessions;  // ingest.sessions beyond the first: ingest only
  for (std::uint32_t k = 2; k <= cfg->ingest_sessions; ++k) {
    MqttIngestSettings session = cfg->mqtt;
    session.client_id += "-" + std::to_string(k);
    more_sessions.push_back(std::make_unique<FeedSubscriber>(
        session, cfg->mqtt_persist_dir().string() + "-" + std::to_string(k), store_message));
  }
  FiguresPublisher figures(
      reader, *cfg,
      [&](const std::string& topic, const std::string& payload, bool retained) {
        return subscriber.publish(topic, payload, retained);
      },
      leases.get());
  OccupancyPublisher occupancy([&](const std::string& topic, const std::string& payload, bool retained) {
    return subscriber.publish(topic, payload, retained);
  });
  try {
    subscriber.start();
    for (auto& session : more_sessions) session->start();
  } catch (const std::exception& e) {
    std::cerr << "footfall-aggregator: " << e.what() << "\n";
    return 2;
  }
  spdlog::info("aggregator: store {}, broker {}, client id {}{}", cfg->store_label(), cfg->mqtt.uri,
               cfg->mqtt.client_id, cfg->mqtt.share_group.empty() ? "" : ", share group " + cfg->mqtt.share_group);
  serve_until_stopped(subscriber, more_sessions, pipeline, figures, occupancy, reader, leases.get(), *cfg);
  stop_serving(subscriber, more_sessions, pipeline);
  const OccupancyCounters& oc = occupancy.counters();
  spdlog::info("publish: occupancy published={} refused={} older={}", oc.published, oc.refused, oc.older);
  return 0;
}

int ingest_file_command(const CommonOptions& common, const std::filesystem::path& file) {
  const auto cfg = resolve(common);
  if (!cfg) return 2;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "footfall-aggregator: cannot read " << file.string() << "\n";
    return 2;
  }
  auto store = open_store(*cfg, SchemaUse::migrate);  // a bulk load, like a copy into the database
  if (!store) return 3;
  IngestPipeline pipeline(*store, cfg->queue_capacity, clock::wall_ms);
  std::string line;
  std::uint64_t bad_lines = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos) {
      ++bad_lines;
      continue;
    }
    pipeline.submit(std::string_view(line).substr(0, tab), std::string_view(line).substr(tab + 1), false);
  }
  pipeline.drain();
  pipeline.stop();
  nlohmann::json out = counters_json(pipeline.counters());
  out["lines_without_tab"] = bad_lines;
  std::cout << out.dump() << "\n";
  return pipeline.counters().store_errors > 0 ? 3 : 0;
}

int import_sales_command(const CommonOptions& common, const std::string& site, const std::filesystem::path& csv) {
  const auto cfg = resolve(common);
  if (!cfg) return 2;
  const std::string tenant = resolve_tenant(common, *cfg);
  if (tenant.empty()) {
    std::cerr << "footfall-aggregator: --tenant: required (the config names no tenant, or several)\n";
    return 2;
  }
  std::ifstream in(csv, std::ios::binary);
  if (!in) {
    std::cerr << "footfall-aggregator: cannot read " << csv.string() << "\n";
    return 2;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const SalesCsvResult parsed = parse_sales_csv(text.str(), tenant, site);
  if (!parsed.fatal.empty()) {
    std::cerr << "footfall-aggregator: " << csv.filename().string() << ": " << parsed.fatal << "\n";
    return 2;
  }
  auto store = open_store(*cfg);
  if (!store) return 3;
  BatchOutcome out;
  try {
    out = store->add_sales(parsed.sales);
  } catch (const std::exception& e) {
    std::cerr << "footfall-aggregator: " << e.what() << "\n";
    return 3;
  }
  std::int64_t rejected = 0;
  for (const auto& [reason, n] : parsed.rejected) rejected += n;
  nlohmann::json summary{{"tenant", tenant},           {"site", site},
                         {"imported", out.sales_new},  {"already_stored", out.sales_duplicate},
                         {"other_site_rows", parsed.other_site_rows}, {"rejected", parsed.rejected}};
  std::cout << summary.dump() << "\n";
  for (const auto& e : parsed.first_errors) std::cerr << csv.filename().string() << ": " << e << "\n";
  return rejected > 0 ? 1 : 0;
}

namespace {

// Progress of a long report on standard error, one line per stage with the time since the start.
class ReportProgress {
 public:
  void stage(const std::string& what) {
    const auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char t[32];
    std::snprintf(t, sizeof t, "%.1f s", s);
    std::cerr << "report: " << what << " (" << t << ")\n";
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

int report_command(const CommonOptions& common, const std::string& site, const std::string& from_date,
                   const std::string& to_date, const std::filesystem::path& out_dir, bool print_summary) {
  const auto cfg = resolve(common);
  if (!cfg) return 2;
  const auto from_day = parse_date_utc(from_date);
  const auto to_day = parse_date_utc(to_date);
  if (!from_day) {
    std::cerr << "footfall-aggregator: --from: expected YYYY-MM-DD\n";
    return 2;
  }
  if (!to_day || *to_day < *from_day) {
    std::cerr << "footfall-aggregator: --to: expected YYYY-MM-DD, not before --from\n";
    return 2;
  }
  // A report reads a store: opening a missing one would create it empty and report zeros.
  std::error_code exists_error;
  if (cfg->store_backend == "sqlite" && !std::filesystem::exists(cfg->store_path, exists_error)) {
    std::cerr << "footfall-aggregator: store.path: " << cfg->store_path.string()
              << " does not exist (a report never creates a store)\n";
    return kExitNoStore;
  }
  auto store = open_store(*cfg);
  if (!store) return 3;
  std::vector<SiteKey> stored;
  try {
    stored = store->sites();
  } catch (const std::exception& e) {
    std::cerr << "footfall-aggregator: report: " << e.what() << "\n";
    return 3;
  }
  std::string tenant = resolve_tenant(common, *cfg);
  if (tenant.empty() && common.config.empty()) {
    std::set<std::string> tenants;
    for (const SiteKey& k : stored) tenants.insert(k.tenant);
    if (tenants.size() == 1) tenant = *tenants.begin();
  }
  if (tenant.empty()) {
    std::cerr << "footfall-aggregator: --tenant: required (the config names no tenant, or several)\n";
    return 2;
  }
  std::set<std::string> known;
  for (const SiteKey& k : stored)
    if (k.tenant == tenant) known.insert(k.site);
  for (const SiteSettings& s : cfg->sites)
    if (s.tenant == tenant) known.insert(s.site);
  if (known.count(site) == 0) {
    std::cerr << "footfall-aggregator: --site: " << site << " is not a site of tenant " << tenant << "; "
              << (known.empty() ? "the store and the config know no site of it" : "known sites: " + joined(known))
              << "\n";
    return 2;
  }
  SiteThresholds thr;
  try {
    thr = site_thresholds(*cfg, tenant, site);
  } catch (const std::invalid_argument& e) {
    std::cerr << "footfall-aggregator: tenants." << tenant << ".sites." << site << ".thresholds: " << e.what() << "\n";
    return 2;
  }
  // The store keeps no site settings: without them the report uses the defaults and says so.
  const bool configured = cfg->find_site(tenant, site) != nullptr;
  if (!configured) {
    std::cerr << "footfall-aggregator: report: no settings for " << tenant << "/" << site
              << (common.config.empty() ? " (no --config)" : " in " + common.config.string())
              << ": default thresholds and UTC, and the report says so\n";
  }
  // The dates are the site's local days, --to included.
  const LocalClock clock = thr.clock();
  const TimeMs from = clock.day_start(static_cast<std::int32_t>(*from_day / day_ms));
  const TimeMs to = clock.day_start(static_cast<std::int32_t>(*to_day / day_ms) + 1);
  ReportProgress progress;
  try {
    const ReportDocument doc = read_report_document(*store, thr, tenant, site, from, to, true,
                                                    [&](const std::string& what) { progress.stage(what); });
    nlohmann::json document = to_json(doc);
    document["thresholds_source"] = configured ? "config" : "defaults";
    write_report(document, out_dir);
    // The same figures for programs: the document the page and the CSV files were made from.
    std::ofstream(out_dir / "report.json") << document.dump(1) << "\n";
    progress.stage("written to " + out_dir.string());
    if (print_summary) print_report_summary(doc, std::cout);
    spdlog::info("report: {}/{} {}..{}: {} visitors, written to {}", tenant, site, from_date, to_date,
                 doc.summary.visitors, out_dir.string());
  } catch (const std::exception& e) {
    std::cerr << "footfall-aggregator: report: " << e.what() << "\n";
    return 3;
  }
  return 0;
}

int migrate_command(const CommonOptions& common) {
  const auto cfg = resolve(common);
  if (!cfg) return 2;
  auto store = open_store(*cfg, SchemaUse::migrate);  // opening applies the migrations this build knows
  if (!store) return 3;
  int version = 0;
  if (auto* p = dynamic_cast<PostgresStore*>(store.get())) version = p->schema_version();
  if (auto* s = dynamic_cast<SqliteStore*>(store.get())) version = s->schema_version();
  std::cout << nlohmann::json{{"backend", cfg->store_backend}, {"store", cfg->store_label()}, {"schema_version", version}}.dump()
            << "\n";
  return 0;
}

namespace {

// A stable batch id for a copied chunk: the same visits give the same id, so a second copy is a no-op.
std::string chunk_id(std::string_view kind, const std::vector<Visit>& visits) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a over the visit ids
  for (const Visit& v : visits)
    for (const char ch : v.visit_id + "\n") h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return "copy:" + std::string(kind) + ":" + buf;
}

}  // namespace

int copy_store_command(const CommonOptions& from, const CommonOptions& to) {
  const auto src_cfg = resolve(from);
  const auto dst_cfg = resolve(to);
  if (!src_cfg || !dst_cfg) return 2;
  if (!from.store.empty() && !std::filesystem::exists(from.store)) {
    std::cerr << "footfall-aggregator: copy-store: --from: " << from.store.string() << " does not exist\n";
    return 2;
  }
  if (src_cfg->store_label() == dst_cfg->store_label()) {
    std::cerr << "footfall-aggregator: copy-store: --from and --to name the same store\n";
    return 2;
  }
  auto src = open_store(*src_cfg);
  if (!src) return 3;
  auto dst = open_store(*dst_cfg, SchemaUse::migrate);
  if (!dst) return 3;
  constexpr std::size_t kChunk = 1000;
  constexpr TimeMs kAll[2] = {std::numeric_limits<TimeMs>::min(), std::numeric_limits<TimeMs>::max()};
  nlohmann::json summary{{"from", src_cfg->store_label()}, {"to", dst_cfg->store_label()}, {"sites", nlohmann::json::array()}};
  try {
    for (const SiteKey& site : src->sites()) {
      IngestBatch chunk;
      chunk.kind = FeedKind::visits;
      chunk.tenant = site.tenant;
      chunk.site = site.site;
      std::int64_t visits_read = 0, visits_new = 0;
      const auto flush = [&] {
        if (chunk.visits.empty()) return;
        chunk.batch_id = chunk_id("visits", chunk.visits);
        const BatchOutcome out = dst->store_batch(chunk, clock::wall_ms());
        visits_new += out.visits_new;
        chunk.visits.clear();
      };
      src->for_each_visit(site.tenant, site.site, kAll[0], kAll[1], [&](const Visit& v) {
        ++visits_read;
        chunk.visits.push_back(v);
        if (chunk.visits.size() == kChunk) flush();
      });
      flush();
      const BatchOutcome sales = dst->add_sales(src->sales(site.tenant, site.site, kAll[0], kAll[1]));
      std::int64_t occupancy_new = 0;
      const auto samples = src->occupancy(site.tenant, site.site, kAll[0], kAll[1]);
      for (const OccupancySample& sample : samples) {
        IngestBatch b;
        b.kind = FeedKind::presence;
        b.tenant = site.tenant;
        b.site = site.site;
        b.batch_id = "copy:occupancy:" + std::to_string(sample.at);
        b.occupancy = sample;
        occupancy_new += dst->store_batch(b, clock::wall_ms()).occupancy_new;
      }
      std::int64_t alerts_new = 0;
      for (const AlertRecord& a : src->alerts(site.tenant, site.site, kAll[0], kAll[1]))
        alerts_new += dst->record_alert(site.tenant, site.site, a.day_start, a.body_json, a.raised_at) ? 1 : 0;
      summary["sites"].push_back({{"tenant", site.tenant},
                                  {"site", site.site},
                                  {"visits", visits_read},
                                  {"visits_new", visits_new},
                                  {"sales_new", sales.sales_new},
                                  {"occupancy", samples.size()},
                                  {"occupancy_new", occupancy_new},
                                  {"alerts_new", alerts_new}});
      spdlog::info("copy-store: {}/{}: {} visits ({} new)", site.tenant, site.site, visits_read, visits_new);
    }
  } catch (const std::exception& e) {
    std::cerr << "footfall-aggregator: copy-store: " << e.what() << " (run it again: what is copied is skipped)\n";
    return 3;
  }
  std::cout << summary.dump() << "\n";
  return 0;
}

int serve_command(const CommonOptions& common) {
  const auto cfg = resolve(common);
  if (!cfg) return 2;
  if (cfg->serve.users.empty())
    std::cerr << "footfall-aggregator: serve.users: no accounts: nobody can sign in (docs/operators.md: adding users)\n";
  auto store = open_store(*cfg);
  if (!store) return 3;
  boost::asio::io_context io;
  boost::asio::thread_pool workers(2);  // answers requests: store reads, password hashes, PDF printing
  serve::Dashboard dashboard(*cfg, *store, clock::wall_ms);
  std::unique_ptr<serve::HttpServer> server;
  try {
    server = std::make_unique<serve::HttpServer>(io, cfg->serve, dashboard, workers);
  } catch (const std::exception& e) {
    std::cerr << "footfall-aggregator: " << e.what() << "\n";
    return 2;
  }
  server->start();
  std::cout << "serve: listening on " << (cfg->serve.tls() ? "https://" : "http://") << cfg->serve.address << ":"
            << server->port() << std::endl;
  spdlog::info("serve: store {}, {} user(s), at most {} connections", cfg->store_label(), cfg->serve.users.size(),
               cfg->serve.max_connections);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  int signal = 0;
  sigwait(&stop, &signal);
  boost::asio::post(io, [&] { server->stop(); });
  io.stop();
  for (auto& t : threads) t.join();
  workers.join();  // a request being answered finishes; its answer is not sent
  const auto& c = server->counters();
  const auto d = dashboard.counters();
  const auto g = dashboard.sign_in_counters();
  std::cout << nlohmann::json{{"accepted", c.accepted.load()},       {"refused_full", c.refused_full.load()},
                              {"too_large", c.too_large.load()},     {"malformed", c.malformed.load()},
                              {"timed_out", c.timed_out.load()},     {"tls_failed", c.tls_failed.load()},
                              {"live_streams", c.live_streams.load()}, {"requests", d.requests},
                              {"unauthenticated", d.unauthenticated}, {"not_found", d.not_found},
                              {"bad_request", d.bad_request},        {"sign_in_succeeded", g.succeeded},
                              {"sign_in_failed", g.failed},          {"sign_in_refused_waiting", g.refused_waiting}}
                   .dump()
            << "\n";
  return 0;
}

int hash_password_command(std::uint32_t iterations) {
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    std::cerr << "footfall-aggregator: hash-password: give the password as one line on standard input\n";
    return 2;
  }
  try {
    std::cout << serve::hash_password(password, iterations) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "footfall-aggregator: hash-password: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace footfall::aggregator
