#include "common/clock.h"
#include "gateway/site/config_reload.h"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace footfall::gateway {

namespace {

bool same_zones(const std::vector<ProbeZone>& a, const std::vector<ProbeZone>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const ProbeZone& x, const ProbeZone& y) {
           return x.probe_id == y.probe_id && x.zone == y.zone;
         });
}

}  // namespace

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

ConfigReload::ConfigReload(std::filesystem::path path, boost::asio::io_context& io, ReceiveServer& server,
                           std::vector<ProbeZone> merged)
    : path_(std::move(path)), io_(io), server_(server), merged_(std::move(merged)) {}

void ConfigReload::attach(SiteThread* site, std::function<SitePipelineConfig(const GatewayConfig&)> site_config,
                          std::function<void()> on_site_lost) {
  site_ = site;
  site_config_ = std::move(site_config);
  on_site_lost_ = std::move(on_site_lost);
}

void ConfigReload::run() {
  if (in_progress_) {
    again_ = true;  // one more once this one is done: the file may have changed again
    return;
  }
  ReloadCounters& r = server_.reloads();
  r.last_ns = footfall::clock::wall_ns();
  auto loaded = load_config(path_);
  if (auto* error = std::get_if<std::string>(&loaded)) return fail(*error);
  const GatewayConfig& next = std::get<GatewayConfig>(loaded);
  if (auto problem = placeholder_token_problem(next); !problem.empty())
    return fail(path_.filename().string() + ": " + problem);  // as at start: never serve a placeholder token
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

void ConfigReload::apply(GatewayConfig applied, std::shared_ptr<boost::asio::ssl::context> tls,
                         std::vector<std::string> restart_keys, std::vector<ProbeZone> merged) {
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

void ConfigReload::fail(const std::string& error) {
  ReloadCounters& r = server_.reloads();
  r.failed += 1;
  r.last_error = error;
  spdlog::error("reload failed: {}: the running config is kept", error);
  server_.write_health(false);
}

}  // namespace footfall::gateway
