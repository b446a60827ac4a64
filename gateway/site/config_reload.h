#pragma once
// SIGHUP: reads gateway.json again and applies what a running gateway can take (docs/provisioning.md).
// Runs on the io thread; when the merge stage's probes change, the site stage reopens first and the receive
// side takes the new probes only after, so no record of a new probe reaches a merge that does not know it.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "gateway/config/gateway_config.h"
#include "gateway/merge/site_merger.h"
#include "gateway/receive/server.h"
#include "gateway/site/site_pipeline.h"
#include "gateway/site/site_thread.h"

namespace footfall::gateway {

class ConfigReload {
 public:
  // `merged`: the probes the site stage merges with now (the running config's, in its order).
  ConfigReload(std::filesystem::path path, boost::asio::io_context& io, ReceiveServer& server,
               std::vector<ProbeZone> merged);

  // With a site stage: reloads that change its probes reopen it with site_config(applied config) first;
  // on_site_lost runs (on the io thread) when it could open with neither config.
  void attach(SiteThread* site, std::function<SitePipelineConfig(const GatewayConfig&)> site_config,
              std::function<void()> on_site_lost);

  // One reload; called while one is under way, it runs once more after it (the file may have changed again).
  void run();

  [[nodiscard]] const std::vector<ProbeZone>& merged() const { return merged_; }

 private:
  void apply(GatewayConfig applied, std::shared_ptr<boost::asio::ssl::context> tls, std::vector<std::string> restart_keys,
             std::vector<ProbeZone> merged);
  void fail(const std::string& error);

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

// What the merge stage needs from the probe list: ids and zones, in the order it has them (a reload that only
// removes a probe or changes a token leaves it as it is). Probes a reload removed stay in it: their records
// still in the journal are merged with their zone.
std::vector<ProbeZone> merge_probes(const std::vector<ProbeAccount>& listed, const std::vector<ProbeZone>& merged);

// "added model-room; removed lobby; new token for entrance; zone of cafe: food -> food-court" (or "unchanged").
std::string probe_changes(const std::vector<ProbeAccount>& before, const std::vector<ProbeAccount>& after);

}  // namespace footfall::gateway
