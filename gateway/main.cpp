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
#include <csignal>
#include <future>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/log/log_format_option.h"
#include "common/log/log_lines.h"
#include "gateway/commands/journal_dump.h"
#include "gateway/commands/provision_command.h"
#include "gateway/config/gateway_config.h"
#include "gateway/config/running_gateway.h"
#include "gateway/publish/publisher.h"
#include "gateway/receive/server.h"
#include "gateway/site/config_reload.h"
#include "gateway/site/journal_feed.h"
#include "gateway/site/receive_snapshot.h"
#include "gateway/site/site_pipeline.h"
#include "gateway/site/site_thread.h"

namespace {

using namespace footfall::gateway;
namespace publish = footfall::gateway::publish;

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

// The journal, its torn tail (if any) logged; null after logging why it does not open.
std::unique_ptr<Journal> open_journal(const GatewayConfig& config) {
  JournalOptions options;
  options.dir = config.journal_dir;
  options.max_bytes = config.journal_max_mb << 20;
  options.max_frame_bytes = config.max_frame_bytes;
  options.fsync = config.journal_fsync == JournalFsync::always;
  auto opened = Journal::open(options);
  if (!opened.journal) {
    spdlog::critical("{}", opened.error);
    return nullptr;
  }
  const JournalStats stats = opened.journal->stats();
  if (stats.torn_records != 0)
    spdlog::warn("journal: cut off {} torn record(s) at the tail (a crash mid-append; they were never acked)",
                 stats.torn_records);
  return std::move(opened.journal);
}

// The receive side's health as the site stage sees it, asked for on the io thread (bounded wait).
ReceiveSnapshotSource receive_snapshots(boost::asio::io_context& io, ReceiveServer& server) {
  return [&io, &server]() -> std::optional<ReceiveSnapshot> {
    auto task = std::make_shared<std::packaged_task<ReceiveHealth()>>([&server] { return server.health(); });
    auto result = task->get_future();
    boost::asio::post(io, [task] { (*task)(); });
    if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return std::nullopt;
    return receive_snapshot(result.get());
  };
}

// Publishing: the Publisher (outbox + MQTT) and the site stage feeding it, opened but not running yet.
struct Publishing {
  std::unique_ptr<publish::Publisher> publisher;
  std::unique_ptr<SiteStage> stage;
  SiteThread::Open open_site;
  int exit_status = 0;  // non-zero: could not open (logged)
};

Publishing open_publishing(const GatewayConfig& config, JournalFeed& feed, ReceiveSnapshotSource snapshots) {
  Publishing p;
  auto pub = publish::Publisher::open(publisher_config(config), footfall::clock::wall_ns() / 1'000'000);
  if (!pub.publisher) {
    spdlog::critical("mqtt: {}", pub.error);
    p.exit_status = 1;
    return p;
  }
  p.publisher = std::move(pub.publisher);
  p.open_site = [&feed, publisher = p.publisher.get(), snapshots](SitePipelineConfig c) {
    auto site = SitePipeline::open(std::move(c), feed, *publisher, snapshots);
    return SiteThread::Opened{std::move(site.pipeline), std::move(site.error)};
  };
  auto site = p.open_site(site_config(config));
  if (!site.stage) {
    spdlog::critical("{}", site.error);
    p.exit_status = 2;
    return p;
  }
  p.stage = std::move(site.stage);
  spdlog::info("publishing to {} as {} (outbox {}, keys {}, rotation {} s)", config.mqtt.uri,
               publish::client_id(p.publisher->config()), config.outbox_dir.string(), config.key_dir.string(),
               config.key_rotation_s);
  return p;
}

int serve(const GatewayConfig& config, const std::filesystem::path& config_path) {
  boost::asio::io_context io;
  // Before anything slow: a SIGHUP (systemctl reload, provision) must never end the program while it starts.
  boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  boost::asio::signal_set reload_signal(io, SIGHUP);

  const std::unique_ptr<Journal> journal = open_journal(config);
  if (!journal) return 1;
  ReceiveServer server(io, config, *journal);
  IoJournalFeed feed(io, *journal, server);
  Publishing publishing;
  if (config.mqtt.enabled()) {
    publishing = open_publishing(config, feed, receive_snapshots(io, server));
    if (publishing.exit_status != 0) return publishing.exit_status;
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
  if (publishing.stage)
    site_thread.emplace(std::move(publishing.stage), site_config(config), publishing.open_site,
                        [&io, &work] { boost::asio::post(io, [&work] { work.reset(); }); }, footfall::clock::wall_ns);
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
  site_thread.reset();             // joined: finish() ran
  publishing.publisher.reset();    // offline status, clean disconnect; unacked batches stay in the outbox
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  namespace log = footfall::log;
  log::use_log_lines("footfall-gateway", log::LogFormat::automatic, stderr);

  CLI::App app{"footfall-gateway: receives probe batches into a durable journal, merges them into visits and "
               "publishes them (pseudonymized) to MQTT"};
  app.set_version_flag("--version", "footfall-gateway " FOOTFALL_VERSION);
  std::string log_format;
  footfall::log::add_log_format_option(app, log_format);
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // a usage error is 2, as for the probe and the aggregator
  }
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
  log::use_log_lines("footfall-gateway", *log::parse_log_format(log_format), stderr, config.log_level);
  if (journal_cmd->parsed()) return dump_journal(config, std::cout, std::cerr);
  if (const std::string problem = placeholder_token_problem(config); !problem.empty()) {
    std::cerr << path << ": " << problem << "\n";
    return 2;
  }
  return serve(config, path);
}
