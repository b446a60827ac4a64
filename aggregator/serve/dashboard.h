#pragma once
// The dashboard's requests and answers, without sockets: a request in, a response out (the server in
// http_server.h moves the bytes). Every path but the sign-in page and the assets needs a session; a session
// sees the sites of its tenant only (another tenant's site answers 404, as an unknown one).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/thresholds.h"
#include "aggregator/config/aggregator_config.h"
#include "aggregator/serve/session_table.h"
#include "aggregator/serve/sign_in_guard.h"
#include "aggregator/store/site_store.h"

namespace footfall::aggregator::serve {

struct Request {
  std::string method;  // GET, POST, ...
  std::string target;  // path and query, as sent
  std::string cookie;  // the Cookie header
  std::string content_type;
  std::string body;
  std::string address;  // the peer's IP address
};

// A live stream (server-sent events): after the head, an event every serve.live_interval_s.
struct LiveStream {
  std::string tenant;
  std::string site;  // empty: every site of the tenant
};

struct Response {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type and Content-Length
  std::optional<LiveStream> live;
};

struct DashboardCounters {
  std::uint64_t requests = 0;
  std::uint64_t unauthenticated = 0;  // no or expired session
  std::uint64_t not_found = 0;        // unknown path, or a site not of the session's tenant
  std::uint64_t bad_request = 0;
};

using WallClock = std::function<TimeMs()>;

class Dashboard {
 public:
  Dashboard(const AggregatorConfig& cfg, SiteStore& store, WallClock clock);

  Response handle(const Request& request);
  // The data of one live event: {"at", "sites": [{"site", "total", "at", "zones": {zone: count}}]}.
  std::string live_event(const LiveStream& stream);

  DashboardCounters counters() const;
  SignInCounters sign_in_counters() const { return guard_.counters(); }

 private:
  struct Range {
    std::int32_t from_day = 0;  // local days [from_day, to_day)
    std::int32_t to_day = 0;
  };

  Response sign_in_form(const Request& r, const std::string& problem, int status);
  Response sign_in(const Request& r);
  Response portfolio(const Session& s, const std::map<std::string, std::string>& query);
  Response site_page(const Session& s, const std::string& site, const std::map<std::string, std::string>& query);
  Response csv_file(const Session& s, const std::string& site, const std::string& file,
                    const std::map<std::string, std::string>& query);
  Response pdf_file(const Session& s, const std::string& site, const std::map<std::string, std::string>& query);
  struct RangeDocument {
    Range range;
    nlohmann::json document;
  };
  std::variant<RangeDocument, Response> range_document(const Session& s, const std::string& site,
                                                       const std::map<std::string, std::string>& query);
  Response bad_request(const std::string& problem);
  Response not_found();

  std::vector<std::string> tenant_sites(const std::string& tenant);
  SiteThresholds thresholds(const std::string& tenant, const std::string& site) const;
  // The range of the query (from, to: local dates, to included), or the problem.
  std::variant<Range, std::string> range_of(const std::map<std::string, std::string>& query, const LocalClock& local) const;

  const AggregatorConfig& cfg_;
  SiteStore& store_;
  WallClock clock_;
  SessionTable sessions_;
  SignInGuard guard_;
  std::mutex store_mutex_;  // the store's connection serves one reader at a time
  std::mutex pdf_mutex_;    // one Chromium at a time
  mutable std::mutex counters_mutex_;
  DashboardCounters counters_;
};

}  // namespace footfall::aggregator::serve
