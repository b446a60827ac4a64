// footfall-gateway: receives probe batches into a durable journal and, with mqtt.uri set, runs the site
// stage that merges them into visits, pseudonymizes them and publishes them to an MQTT broker.
//   footfall-gateway --config gateway.json            serve
//   footfall-gateway journal --config gateway.json    dump the held events as JSON lines
//   footfall-gateway --help-config                    the options table
//
// Threads: the receive side (sessions, journal) runs on the io_context of the main thread; the site stage
// runs on a thread of its own and reaches the journal only through posts to that io_context, so the
// receive side never waits on merging, disk syncs of the outbox or MQTT.
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
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "gateway/commands/journal_dump.h"
#include "gateway/commands/provision_command.h"
#include "gateway/config/gateway_config.h"
#include "gateway/publish/publisher.h"
#include "gateway/receive/server.h"
#include "gateway/site/journal_feed.h"
#include "gateway/site/receive_snapshot.h"
#include "gateway/site/site_pipeline.h"

namespace {

using namespace footfall::gateway;
namespace publish = footfall::publish;

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
  p.outbox_fsync.mode = c.journal_fsync == JournalFsync::always ? footfall::spool::FsyncMode::always
                                                                 : footfall::spool::FsyncMode::never;
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
class SiteThread {
 public:
  SiteThread(SitePipeline& pipeline, std::function<void()> on_finished)
      : pipeline_(pipeline), on_finished_(std::move(on_finished)), thread_([this] { run(); }) {}
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

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      const bool busy = pipeline_.step(wall_clock_ns());
      lock.lock();
      if (!busy) wake_.wait_for(lock, kIdlePause, [this] { return stopping_; });
    }
    lock.unlock();
    pipeline_.finish(wall_clock_ns());
    on_finished_();
  }

  SitePipeline& pipeline_;
  std::function<void()> on_finished_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above is ready
};

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

  // Publishing: the Publisher (outbox + MQTT) and the site stage feeding it.
  std::unique_ptr<publish::Publisher> publisher;
  IoJournalFeed feed(io, *opened.journal, server);
  std::unique_ptr<SitePipeline> pipeline;
  if (config.mqtt.enabled()) {
    auto pub = publish::Publisher::open(publisher_config(config), wall_clock_ns() / 1'000'000);
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
    auto site = SitePipeline::open(site_config(config), feed, *publisher, std::move(snapshot));
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
  if (pipeline) site_thread.emplace(*pipeline, [&io, &work] { boost::asio::post(io, [&work] { work.reset(); }); });
  else work.reset();

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signo);
    server.stop();
    if (site_thread) site_thread->stop();
  });
  io.run();
  site_thread.reset();  // joined: finish() ran
  pipeline.reset();
  publisher.reset();    // offline status, clean disconnect; unacked batches stay in the outbox
  return 0;
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
  provision_cmd->footer("docs/provisioning.md. Exit status: 0 done, 1 refused (probe exists) or a write failed, "
                        "2 usage error or bad gateway.json. Restart the gateway afterwards: it reads probes at start.");
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
  return serve(config);
}
