// footfall-gateway: receives probe batches into a durable journal and, with mqtt.uri set, runs the site
// stage that merges them into visits, pseudonymizes them and publishes them to an MQTT broker.
//   footfall-gateway --config gateway.json            serve
//   footfall-gateway journal --config gateway.json    dump the held events as JSON lines
//   footfall-gateway --help-config                    the options table
//
// Threads: the receive side (sessions, journal) runs on the io_context of the main thread; the site stage
// runs on a thread of its own and reaches the journal only through posts to that io_context, so the
// receive side never waits on merging, disk syncs of the outbox or MQTT.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "gateway/commands/journal_dump.h"
#include "gateway/commands/provision_command.h"
#include "gateway/config/gateway_config.h"
#include "gateway/config/running_gateway.h"
#include "gateway/publish/publisher.h"
#include "gateway/receive/server.h"
#include "gateway/site/journal_feed.h"
#include "gateway/site/receive_snapshot.h"
#include "gateway/site/site_pipeline.h"

namespace {

using namespace footfall::gateway;
namespace publish = footfall::gateway::publish;

constexpr auto kIdlePause = std::chrono::milliseconds(50);  // site stage: nothing to read, look again after this

publish::PublisherConfig publisher_config(const GatewayConfig& c) {
  publish::PublisherConfig p;
  p.server_uri = c.mqtt.uri;
  p.tenant = c.tenant;
  p.site = c.site;
  p.software_version = FOOTFALL_VERSION;
  p.client_id = c.mqtt.client_id;
  p.username = c.mqtt.username;
  p.password = c.mqtt.password;
  p.tls.enabled = c.mqtt.uri.starts_with("ssl://");
  p.tls.ca_file = c.mqtt.ca_file;
  p.tls.cert_file = c.mqtt.cert_file;
  p.tls.key_file = c.mqtt.key_file;
  p.tls.verify_server = c.mqtt.verify_server;
  p.outbox_dir = c.outbox_dir;
  p.outbox.max_total_bytes = c.outbox_max_mb << 20;
  p.outbox.segment_bytes = std::min<std::uint64_t>(4ull << 20, p.outbox.max_total_bytes / 8);
  p.outbox.max_record_bytes = 2u << 20;
  // The outbox follows the journal: both fdatasync before anything upstream is released, or neither does.
  p.outbox_fsync.mode = c.journal_fsync == JournalFsync::always ? footfall::segment_log::FsyncMode::always
                                                                 : footfall::segment_log::FsyncMode::never;
  const std::int64_t interval = c.publish_interval_ms;
  p.visits = {interval, c.publish_max_events, 1u << 20};
  p.presence = {interval, c.publish_max_events, 1u << 20};
  p.probes = {static_cast<std::int64_t>(c.probes_interval_ms), 1000, 1u << 20};
  p.window = c.mqtt.window;
  return p;
}

SitePipelineConfig site_config(const GatewayConfig& c) {
  SitePipelineConfig s;
  s.site = c.site;
  for (const ProbeAccount& p : c.probes) s.merge.probes.push_back({p.id, p.zone});
  s.merge.visit_grace_ns = std::int64_t{c.visit_grace_s} * 1'000'000'000;
  s.merge.max_probe_lag_ns = std::int64_t{c.max_probe_lag_s} * 1'000'000'000;
  s.merge.update_interval_ns = std::int64_t{c.update_interval_s} * 1'000'000'000;
  s.merge.max_devices = c.merge_max_devices;
  s.merge.dedup_window_ns = std::int64_t{c.dedup_window_ms} * 1'000'000;
  s.merge.strongest_zone_hysteresis_db = c.strongest_zone_hysteresis_db;
  s.merge.strongest_zone_hold_intervals = c.strongest_zone_hold_intervals;
  s.merge.dedup_capacity = c.dedup_capacity;
  s.keys.period_ns = c.key_rotation_s * 1'000'000'000;
  s.key_dir = c.key_dir;
  s.create_keys = c.create_keys;
  s.opt_out_file = c.opt_out_file;
  s.checkpoint_path = c.journal_dir / kSiteCheckpointFile;
  s.health_interval_ns = std::int64_t{c.probes_interval_ms} * 1'000'000;
  return s;
}

// The site stage on its own thread; stop() ends it after finish() (outbox sealed, checkpoint, consume).
// reopen() makes it start again with another config (a reload changed the probes or their zones): the stage
// finishes what it holds and opens again, replaying the journal from its oldest unconsumed record exactly as
// after a restart, on its own thread, while the receive side goes on serving (and answering the journal feed).
class SiteThread {
 public:
  using Open = std::function<SitePipeline::Opened(SitePipelineConfig)>;
  enum class Reopened : std::uint8_t { with_new_config, with_old_config, not_at_all };

  SiteThread(std::unique_ptr<SitePipeline> pipeline, SitePipelineConfig config, Open open,
             std::function<void()> on_finished)
      : pipeline_(std::move(pipeline)),
        config_(std::move(config)),
        open_(std::move(open)),
        on_finished_(std::move(on_finished)),
        thread_([this] { run(); }) {}
  ~SiteThread() {
    stop();
    if (thread_.joinable()) thread_.join();
  }
  SiteThread(const SiteThread&) = delete;
  SiteThread& operator=(const SiteThread&) = delete;

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
  }

  // From any thread; `done` runs on the stage's thread once it runs again (or could not).
  void reopen(SitePipelineConfig config, std::function<void(Reopened, const std::string&)> done) {
    {
      std::lock_guard lock(mutex_);
      reopen_.emplace(Reopen{std::move(config), std::move(done)});
    }
    wake_.notify_all();
  }

 private:
  struct Reopen {
    SitePipelineConfig config;
    std::function<void(Reopened, const std::string&)> done;
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_ && pipeline_) {
      if (reopen_) {
        Reopen r = std::move(*reopen_);
        reopen_.reset();
        lock.unlock();
        swap(std::move(r));
        lock.lock();
        continue;
      }
      lock.unlock();
      const bool busy = pipeline_->step(footfall::clock::wall_ns());
      lock.lock();
      if (!busy) wake_.wait_for(lock, kIdlePause, [this] { return stopping_ || reopen_.has_value(); });
    }
    lock.unlock();
    if (pipeline_) pipeline_->finish(footfall::clock::wall_ns());
    on_finished_();
  }

  void swap(Reopen r) {
    pipeline_->finish(footfall::clock::wall_ns());
    pipeline_.reset();
    auto opened = open_(r.config);
    if (opened.pipeline) {
      pipeline_ = std::move(opened.pipeline);
      config_ = std::move(r.config);
      r.done(Reopened::with_new_config, {});
      return;
    }
    const std::string error = opened.error;
    auto again = open_(config_);
    pipeline_ = std::move(again.pipeline);
    r.done(pipeline_ ? Reopened::with_old_config : Reopened::not_at_all, pipeline_ ? error : error + "; " + again.error);
  }

  std::unique_ptr<SitePipeline> pipeline_;
  SitePipelineConfig config_;
  Open open_;
  std::function<void()> on_finished_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<Reopen> reopen_;
  std::thread thread_;  // last: starts once everything above is ready
};

// What the merge stage needs from the probe list: ids and zones, in the order it has them (a reload that only
// removes a probe or changes a token leaves it as it is). Probes a reload removed stay in it: their records
// still in the journal are merged with their zone.
std::vector<ProbeZone> merge_probes(const std::vector<ProbeAccount>& listed, const std::vector<ProbeZone>& merged) {
  std::vector<ProbeZone> out = merged;
  for (ProbeZone& m : out) {
    const auto p = std::find_if(listed.begin(), listed.end(), [&](const ProbeAccount& a) { return a.id == m.probe_id; });
    if (p != listed.end()) m.zone = p->zone;
  }
  for (const ProbeAccount& p : listed)
    if (std::none_of(out.begin(), out.end(), [&](const ProbeZone& m) { return m.probe_id == p.id; }))
      out.push_back({p.id, p.zone});
  return out;
}

// "added model-room; removed lobby; new token for entrance; zone of cafe: food -> food-court" (or "unchanged").
std::string probe_changes(const std::vector<ProbeAccount>& before, const std::vector<ProbeAccount>& after) {
  std::vector<std::string> added, removed, token, zone;
  for (const ProbeAccount& a : after) {
    const auto b = std::find_if(before.begin(), before.end(), [&](const ProbeAccount& p) { return p.id == a.id; });
    if (b == before.end()) added.push_back(a.id);
    else {
      if (b->token != a.token) token.push_back(a.id);
      if (b->zone != a.zone) zone.push_back(a.id + ": " + b->zone + " -> " + a.zone);
    }
  }
  for (const ProbeAccount& b : before)
    if (std::none_of(after.begin(), after.end(), [&](const ProbeAccount& p) { return p.id == b.id; })) removed.push_back(b.id);
  std::string out;
  auto part = [&out](std::string_view what, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    if (!out.empty()) out += "; ";
    out += what;
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i == 0 ? " " : ", ") + ids[i];
  };
  part("added", added);
  part("removed", removed);
  part("new token for", token);
  part("zone of", zone);
  return out.empty() ? "unchanged" : out;
}

// SIGHUP: reads gateway.json again and applies what a running gateway can take (docs/provisioning.md).
// Runs on the io thread; when the merge stage's probes change, the site stage reopens first and the receive
// side takes the new probes only after, so no record of a new probe reaches a merge that does not know it.
class ConfigReload {
 public:
  ConfigReload(std::filesystem::path path, boost::asio::io_context& io, ReceiveServer& server,
               std::vector<ProbeZone> merged)
      : path_(std::move(path)), io_(io), server_(server), merged_(std::move(merged)) {}

  void attach(SiteThread* site, std::function<SitePipelineConfig(const GatewayConfig&)> site_config,
              std::function<void()> on_site_lost) {
    site_ = site;
    site_config_ = std::move(site_config);
    on_site_lost_ = std::move(on_site_lost);
  }

  void run() {
    if (in_progress_) {
      again_ = true;  // one more once this one is done: the file may have changed again
      return;
    }
    ReloadCounters& r = server_.reloads();
    r.last_ns = footfall::clock::wall_ns();
    auto loaded = load_config(path_);
    if (auto* error = std::get_if<std::string>(&loaded)) return fail(*error);
    const GatewayConfig& next = std::get<GatewayConfig>(loaded);
    const GatewayConfig& running = server_.config();
    std::vector<std::string> restart_keys;
    for (const ConfigChange& c : config_changes(running, next))
      if (c.effect == OnReload::needs_restart) restart_keys.push_back(c.key);
    GatewayConfig applied = reloaded_config(running, next);
    std::shared_ptr<boost::asio::ssl::context> tls;
    if (applied.tls.enabled()) {
      std::string error;
      tls = make_tls_context(applied.tls, error);
      if (!tls) return fail(path_.filename().string() + ": " + error);
    }
    std::vector<ProbeZone> merged = merge_probes(applied.probes, merged_);
    const bool merge_changed = site_ != nullptr && !same_zones(merged, merged_);
    if (!merge_changed) return apply(std::move(applied), std::move(tls), std::move(restart_keys), std::move(merged));
    in_progress_ = true;
    SitePipelineConfig site = site_config_(applied);
    site.merge.probes = merged;
    spdlog::info("reload: the site stage restarts with the new probes (it replays the journal from its oldest "
                 "unconsumed record); probe sessions go on");
    site_->reopen(std::move(site), [this, applied = std::move(applied), tls = std::move(tls),
                                    restart_keys = std::move(restart_keys),
                                    merged = std::move(merged)](SiteThread::Reopened how, const std::string& error) mutable {
      boost::asio::post(io_, [this, how, error, applied = std::move(applied), tls = std::move(tls),
                              restart_keys = std::move(restart_keys), merged = std::move(merged)]() mutable {
        in_progress_ = false;
        if (how == SiteThread::Reopened::with_new_config) apply(std::move(applied), std::move(tls), std::move(restart_keys), std::move(merged));
        else fail("site stage: " + error);
        if (how == SiteThread::Reopened::not_at_all) {
          spdlog::critical("site stage could not open again: stopping");
          on_site_lost_();
          return;
        }
        if (again_) {
          again_ = false;
          run();
        }
      });
    });
  }

 private:
  static bool same_zones(const std::vector<ProbeZone>& a, const std::vector<ProbeZone>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const ProbeZone& x, const ProbeZone& y) {
             return x.probe_id == y.probe_id && x.zone == y.zone;
           });
  }

  void apply(GatewayConfig applied, std::shared_ptr<boost::asio::ssl::context> tls, std::vector<std::string> restart_keys,
             std::vector<ProbeZone> merged) {
    ReloadCounters& r = server_.reloads();
    const std::string changes = probe_changes(server_.config().probes, applied.probes);
    spdlog::set_level(spdlog::level::from_str(applied.log_level));
    server_.reload(applied, std::move(tls));
    merged_ = std::move(merged);
    r.ok += 1;
    r.last_error.clear();
    r.needs_restart = restart_keys;
    spdlog::info("reload: {} applied: {} probe(s), {}", path_.filename().string(), applied.probes.size(), changes);
    if (!restart_keys.empty()) {
      std::string keys;
      for (const auto& k : restart_keys) keys += (keys.empty() ? "" : ", ") + k;
      spdlog::warn("reload: needs restart: {} changed in {}; the running gateway keeps its values until it restarts",
                   keys, path_.filename().string());
    }
    server_.write_health(false);
  }

  void fail(const std::string& error) {
    ReloadCounters& r = server_.reloads();
    r.failed += 1;
    r.last_error = error;
    spdlog::error("reload failed: {}: the running config is kept", error);
    server_.write_health(false);
  }

  std::filesystem::path path_;
  boost::asio::io_context& io_;
  ReceiveServer& server_;
  std::vector<ProbeZone> merged_;  // what the site stage merges with now
  SiteThread* site_ = nullptr;
  std::function<SitePipelineConfig(const GatewayConfig&)> site_config_;
  std::function<void()> on_site_lost_;
  bool in_progress_ = false;
  bool again_ = false;
};

int serve(const GatewayConfig& config, const std::filesystem::path& config_path) {
  boost::asio::io_context io;
  // Before anything slow: a SIGHUP (systemctl reload, provision) must never end the program while it starts.
  boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  boost::asio::signal_set reload_signal(io, SIGHUP);

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

  ReceiveServer server(io, config, *opened.journal);

  // Publishing: the Publisher (outbox + MQTT) and the site stage feeding it.
  std::unique_ptr<publish::Publisher> publisher;
  IoJournalFeed feed(io, *opened.journal, server);
  std::unique_ptr<SitePipeline> pipeline;
  SiteThread::Open open_site;
  if (config.mqtt.enabled()) {
    auto pub = publish::Publisher::open(publisher_config(config), footfall::clock::wall_ns() / 1'000'000);
    if (!pub.publisher) {
      spdlog::critical("mqtt: {}", pub.error);
      return 1;
    }
    publisher = std::move(pub.publisher);
    ReceiveSnapshotSource snapshot = [&io, &server]() -> std::optional<ReceiveSnapshot> {
      auto task = std::make_shared<std::packaged_task<nlohmann::json()>>([&server] { return server.health_json(); });
      auto result = task->get_future();
      boost::asio::post(io, [task] { (*task)(); });
      if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return std::nullopt;
      return receive_snapshot(result.get());
    };
    open_site = [&feed, &publisher, snapshot](SitePipelineConfig c) {
      return SitePipeline::open(std::move(c), feed, *publisher, snapshot);
    };
    auto site = open_site(site_config(config));
    if (!site.pipeline) {
      spdlog::critical("{}", site.error);
      return 2;
    }
    pipeline = std::move(site.pipeline);
    spdlog::info("publishing to {} as {} (outbox {}, keys {}, rotation {} s)", config.mqtt.uri,
                 publish::client_id(publisher->config()), config.outbox_dir.string(), config.key_dir.string(),
                 config.key_rotation_s);
  } else {
    spdlog::info("mqtt.uri not set: receive only (the journal keeps every batch; when full, probes wait)");
  }

  if (const auto error = server.start()) {
    spdlog::critical("{}", error->message);
    return error->bad_config ? 2 : 1;
  }
  // Keeps io.run() going after the receive side stops, until the site stage has released the journal.
  auto work = std::make_optional(boost::asio::make_work_guard(io));
  std::optional<SiteThread> site_thread;
  if (pipeline)
    site_thread.emplace(std::move(pipeline), site_config(config), open_site,
                        [&io, &work] { boost::asio::post(io, [&work] { work.reset(); }); });
  else work.reset();

  int status = 0;
  auto stop = [&] {
    server.stop();
    if (site_thread) site_thread->stop();
  };
  ConfigReload reload(config_path, io, server, site_config(config).merge.probes);
  if (site_thread)
    reload.attach(&*site_thread, [](const GatewayConfig& c) { return site_config(c); }, [&] {
      status = 1;
      stop();
    });
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signo);
    reload_signal.cancel();
    stop();
  });
  std::function<void()> wait_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: reloading {}", config_path.string());
      reload.run();
      wait_reload();
    });
  };
  wait_reload();
  // Written once SIGHUP is handled: `provision` signals the pid it finds here.
  const PidFile pid_file(config.journal_dir / kPidFileName);
  if (!pid_file.error().empty())
    spdlog::warn("{}: provision cannot tell this gateway to reload (systemctl reload footfall-gateway can)",
                 pid_file.error());
  io.run();
  site_thread.reset();  // joined: finish() ran
  publisher.reset();    // offline status, clean disconnect; unacked batches stay in the outbox
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_logger_mt("footfall-gateway");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);

  CLI::App app{"footfall-gateway: receives probe batches into a durable journal, merges them into visits and "
               "publishes them (pseudonymized) to MQTT"};
  std::string config_path;
  bool help_config = false;
  app.add_option("--config", config_path, "gateway.json");
  app.add_flag("--help-config", help_config, "print the gateway.json options table and exit");
  auto* journal_cmd = app.add_subcommand("journal", "print every held event as one JSON object per line");
  std::string journal_config_path;
  journal_cmd->add_option("--config", journal_config_path, "gateway.json")->required();
  ProvisionOptions provision;
  auto* provision_cmd = app.add_subcommand(
      "provision", "add a probe (or --rotate-token) to gateway.json and write its probe.json, ready for the probe");
  provision_cmd->footer("docs/provisioning.md. Exit status: 0 done, 1 refused (probe exists), a write failed or the "
                        "running gateway did not take the file, 2 usage error or bad gateway.json. A gateway running on "
                        "this config is told to reload (SIGHUP) unless --no-reload.");
  provision_cmd->add_option("--config", provision.config_path, "gateway.json (rewritten atomically)")->required();
  provision_cmd->add_option("--probe", provision.probe_id, "probe id (1..64 bytes)")->required();
  provision_cmd->add_option("--out", provision.out_dir, "folder for probe.json (and ca.pem, probe.crt, probe.key)")->required();
  provision_cmd->add_option("--zone", provision.zone, "zone the probe covers (default: the probe id)");
  provision_cmd->add_flag("--rotate-token", provision.rotate_token, "give an existing probe a new token");
  provision_cmd->add_option("--gateway-host", provision.gateway_host, "name or address the probe reaches the gateway at (default: listen.address)");
  provision_cmd->add_option("--gateway-port", provision.gateway_port, "port (default: listen.port)")->check(CLI::Range(1, 65535));
  provision_cmd->add_option("--interface", provision.interface, "source.interface on the probe")->capture_default_str();
  provision_cmd->add_option("--probe-dir", provision.probe_dir, "where the files go on the probe")->capture_default_str();
  provision_cmd->add_option("--spool-dir", provision.spool_dir, "spool.dir on the probe")->capture_default_str();
  provision_cmd->add_option("--ca", provision.ca_file, "CA certificate of the gateway's TLS certificate (default: that certificate)");
  provision_cmd->add_option("--client-ca-key", provision.client_ca_key, "key of listen.tls.client_ca_file: sign a client certificate for the probe");
  provision_cmd->add_flag("--no-reload", provision.no_reload, "do not tell a running gateway to reload gateway.json");
  CLI11_PARSE(app, argc, argv);
  if (provision_cmd->parsed()) return run_provision(provision, std::cout, std::cerr);

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
  return serve(config, path);
}
