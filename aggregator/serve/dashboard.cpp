#include "aggregator/serve/dashboard.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <variant>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "aggregator/aggregate/figures.h"
#include "aggregator/aggregate/local_time.h"
#include "aggregator/ingest/iso_time.h"
#include "aggregator/publish/figures_publisher.h"
#include "aggregator/report/report_page.h"
#include "aggregator/report/report_text.h"
#include "aggregator/report/report_writer.h"
#include "aggregator/report/svg_chart.h"
#include "aggregator/serve/dashboard_assets.h"
#include "aggregator/serve/password_hash.h"
#include "aggregator/serve/pdf_print.h"
#include "aggregator/serve/site_report.h"
#include "common/civil_date.h"

namespace footfall::aggregator::serve {
namespace {

using nlohmann::json;
using report::format_change;
using report::format_count;
using report::format_decimal;
using report::format_ratio;
using report::html_escape;

constexpr TimeMs kDayMs = 86'400'000;
constexpr std::int32_t kMaxRangeDays = 366;
constexpr const char* kCookie = "footfall_session";
// Verified when the user is unknown, so an unknown name takes as long as a wrong password.
constexpr const char* kDecoyHash =
    "pbkdf2-sha256$600000$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000";

std::string url_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::map<std::string, std::string> parse_pairs(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (!pair.empty())
      out[url_decode(pair.substr(0, eq), true)] = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return out;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

std::string query_string(const std::string& from, const std::string& to) {
  return "from=" + from + "&to=" + to;
}

std::string page(const std::string& title, const std::string& nav, const std::string& meta, const std::string& main) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" + html_escape(title) + "</title><link rel=\"icon\" href=\"data:,\">"
         "<link rel=\"stylesheet\" href=\"/assets/report.css\"><link rel=\"stylesheet\" href=\"/assets/dashboard.css\">"
         "<script src=\"/assets/dashboard.js\" defer></script></head>\n<body class=\"dash\">\n"
         "<header class=\"top\">" + nav + "<h1>" + html_escape(title) + "</h1><div class=\"meta\">" + meta +
         "</div></header>\n<main>\n" + main + "</main>\n</body></html>\n";
}

std::string nav_of(const Session& s, const std::string& site) {
  std::string nav = "<nav><a href=\"/portfolio\">Portfolio</a>";
  if (!site.empty()) nav += " <span>&rsaquo;</span> <a href=\"/sites/" + html_escape(site) + "\">" + html_escape(site) + "</a>";
  nav += "<span class=\"who\">" + html_escape(s.user) + " &middot; " + html_escape(s.tenant) +
         "<form method=\"post\" action=\"/sign-out\"><button type=\"submit\">Sign out</button></form></span></nav>";
  return nav;
}

std::string range_form(const std::string& action, const std::string& from, const std::string& last) {
  return "<section id=\"range\" class=\"range\"><form method=\"get\" action=\"" + html_escape(action) +
         "\"><label>From <input type=\"date\" name=\"from\" id=\"from\" value=\"" + html_escape(from) +
         "\" required></label> <label>To <input type=\"date\" name=\"to\" id=\"to\" value=\"" + html_escape(last) +
         "\" required></label> <button type=\"submit\" id=\"show\">Show</button>"
         " <span class=\"presets\"><button type=\"button\" data-days=\"7\">Last 7 days</button>"
         "<button type=\"button\" data-days=\"28\">Last 28 days</button>"
         "<button type=\"button\" data-month=\"1\">This month</button></span></form></section>\n";
}

std::string opt_ratio(const std::optional<double>& v) { return v ? format_ratio(*v) : report::kNoValue; }
std::string opt_minutes(const std::optional<double>& v) {
  return v ? format_decimal(*v, 1) + " min" : std::string(report::kNoValue);
}
std::string value_attr(const std::optional<double>& v) {
  return v ? " data-value=\"" + format_decimal(*v, 6) + "\"" : std::string(" data-value=\"\"");
}
std::optional<double> change(double now, double before) {
  if (before == 0) return std::nullopt;
  return (now - before) / before;
}
// A relative change (+12.5 %), or for a ratio the difference in percentage points (+0.4 pt); a change that
// rounds to zero is drawn neither up nor down.
std::string change_cell(const std::optional<double>& c, bool points = false) {
  if (!c) return "<td class=\"delta\" data-value=\"\">" + std::string(report::kNoValue) + "</td>";
  const double shown = std::round(*c * 1000) / 1000;
  const char* cls = shown > 0 ? "up" : shown < 0 ? "down" : "flat";
  std::string text = format_change(*c);
  if (points) text = (shown > 0 ? "+" : "") + format_decimal(*c * 100, 1) + " pt";
  if (std::abs(*c) < 0.0005) text = points ? "0.0 pt" : "0.0 %";
  return "<td class=\"delta " + std::string(cls) + "\"" + value_attr(c) + ">" + html_escape(text) + "</td>";
}

}  // namespace

Dashboard::Dashboard(const AggregatorConfig& cfg, SiteStore& store, WallClock clock)
    : cfg_(cfg),
      store_(store),
      clock_(std::move(clock)),
      sessions_(cfg.serve.max_sessions, TimeMs{cfg.serve.session_hours} * 3'600'000) {}

DashboardCounters Dashboard::counters() const {
  std::lock_guard lock(counters_mutex_);
  return counters_;
}

Response Dashboard::bad_request(const std::string& problem) {
  {
    std::lock_guard lock(counters_mutex_);
    ++counters_.bad_request;
  }
  return Response{400, "text/plain; charset=utf-8", "bad request: " + problem + "\n", {}, {}};
}

Response Dashboard::not_found() {
  {
    std::lock_guard lock(counters_mutex_);
    ++counters_.not_found;
  }
  return Response{404, "text/plain; charset=utf-8", "not found\n", {}, {}};
}

std::vector<std::string> Dashboard::tenant_sites(const std::string& tenant) {
  std::vector<std::string> sites;
  for (const SiteSettings& s : cfg_.sites)
    if (s.tenant == tenant) sites.push_back(s.site);
  std::vector<SiteKey> stored;
  {
    std::lock_guard lock(store_mutex_);
    stored = store_.sites();
  }
  for (const SiteKey& k : stored)
    if (k.tenant == tenant && std::find(sites.begin(), sites.end(), k.site) == sites.end()) sites.push_back(k.site);
  std::sort(sites.begin(), sites.end());
  return sites;
}

SiteThresholds Dashboard::thresholds(const std::string& tenant, const std::string& site) const {
  return site_thresholds(cfg_, tenant, site);
}

std::variant<Dashboard::Range, std::string> Dashboard::range_of(const std::map<std::string, std::string>& query,
                                                                const LocalClock& local) const {
  const std::int32_t today = local.day_of(clock_());
  Range r{today - 6, today + 1};  // the last seven days, today included
  const auto from = query.find("from");
  const auto to = query.find("to");
  if (from != query.end()) {
    const auto t = parse_date_utc(from->second);
    if (!t) return std::string("from: expected a date YYYY-MM-DD, got \"" + from->second.substr(0, 40) + "\"");
    r.from_day = static_cast<std::int32_t>(*t / kDayMs);
  }
  if (to != query.end()) {
    const auto t = parse_date_utc(to->second);
    if (!t) return std::string("to: expected a date YYYY-MM-DD, got \"" + to->second.substr(0, 40) + "\"");
    r.to_day = static_cast<std::int32_t>(*t / kDayMs) + 1;
  }
  if (r.to_day <= r.from_day) return std::string("to: the last day is before the first (from)");
  if (r.to_day - r.from_day > kMaxRangeDays) return std::string("the range is longer than 366 days");
  return r;
}

Response Dashboard::handle(const Request& r) {
  {
    std::lock_guard lock(counters_mutex_);
    ++counters_.requests;
  }
  const std::size_t qmark = r.target.find('?');
  const std::string path = url_decode(std::string_view(r.target).substr(0, qmark), false);
  const auto query = qmark == std::string::npos ? std::map<std::string, std::string>{}
                                                : parse_pairs(std::string_view(r.target).substr(qmark + 1));
  if (r.method != "GET" && r.method != "HEAD" && r.method != "POST")
    return Response{405, "text/plain; charset=utf-8", "method not allowed: the dashboard is read-only\n",
                    {{"Allow", "GET, HEAD, POST"}}, {}};

  if (path.starts_with("/assets/")) {
    if (r.method == "POST") return Response{405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET"}}, {}};
    const std::string name = path.substr(8);
    if (name == "report.css") return Response{200, "text/css; charset=utf-8", std::string(report::report_style()), {}, {}};
    if (const auto* asset = find_asset(name)) return Response{200, std::string(asset->content_type), std::string(asset->text), {}, {}};
    return not_found();
  }
  if (path == "/sign-in") {
    if (r.method == "POST") return sign_in(r);
    return sign_in_form(r, "", 200);
  }

  const std::string token = cookie_value(r.cookie, kCookie);
  const auto session = token.empty() ? std::nullopt : sessions_.find(token, clock_());
  if (path == "/sign-out" && r.method == "POST") {
    if (!token.empty()) sessions_.close(token);
    return Response{303, "text/plain; charset=utf-8", "signed out\n",
                    {{"Location", "/sign-in"},
                     {"Set-Cookie", std::string(kCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
                                        (cfg_.serve.tls() ? "; Secure" : "")}},
                    {}};
  }
  if (!session) {
    {
      std::lock_guard lock(counters_mutex_);
      ++counters_.unauthenticated;
    }
    if (path == "/live" || path.ends_with(".csv") || path.ends_with(".pdf"))
      return Response{401, "text/plain; charset=utf-8", "sign in first: /sign-in\n", {}, {}};
    return Response{303, "text/plain; charset=utf-8", "sign in first\n", {{"Location", "/sign-in"}}, {}};
  }
  if (r.method == "POST") return Response{405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET"}}, {}};
  if (path == "/") return Response{303, "text/plain; charset=utf-8", "", {{"Location", "/portfolio"}}, {}};
  if (path == "/portfolio") return portfolio(*session, query);
  if (path == "/live") {
    const auto site = query.find("site");
    if (site != query.end()) {
      const auto sites = tenant_sites(session->tenant);
      if (std::find(sites.begin(), sites.end(), site->second) == sites.end()) return not_found();
    }
    Response live{200, "text/event-stream", "", {{"Cache-Control", "no-store"}}, {}};
    live.live = LiveStream{session->tenant, site == query.end() ? "" : site->second};
    return live;
  }
  if (path.starts_with("/sites/")) {
    std::string rest = path.substr(7);
    const std::size_t slash = rest.find('/');
    const std::string site = rest.substr(0, slash);
    const auto sites = tenant_sites(session->tenant);
    if (std::find(sites.begin(), sites.end(), site) == sites.end()) return not_found();
    if (slash == std::string::npos) return site_page(*session, site, query);
    const std::string file = rest.substr(slash + 1);
    if (file == "report.pdf") return pdf_file(*session, site, query);
    if (file.ends_with(".csv")) return csv_file(*session, site, file, query);
  }
  return not_found();
}

Response Dashboard::sign_in_form(const Request& r, const std::string& problem, int status) {
  (void)r;
  std::string main = "<section id=\"sign-in\" class=\"sign-in\"><h2>Sign in</h2>";
  if (!problem.empty()) main += "<p class=\"problem\" role=\"alert\">" + html_escape(problem) + "</p>";
  main += "<form method=\"post\" action=\"/sign-in\"><label>User <input name=\"user\" id=\"user\" autocomplete=\"username\" "
          "required></label><label>Password <input type=\"password\" name=\"password\" id=\"password\" "
          "autocomplete=\"current-password\" required></label><button type=\"submit\" id=\"sign-in-button\">Sign in</button>"
          "</form><p class=\"note\">Accounts are set in aggregator.json (serve.users); docs/operators.md says how.</p></section>\n";
  Response out{status, "text/html; charset=utf-8",
               page("footfall \xE2\x80\x94 sign in", "<nav><span>footfall</span></nav>", "visitor figures of your sites", main),
               {}, {}};
  return out;
}

Response Dashboard::sign_in(const Request& r) {
  if (r.content_type.find("application/x-www-form-urlencoded") == std::string::npos)
    return bad_request("sign-in: expected a form (application/x-www-form-urlencoded)");
  const auto form = parse_pairs(r.body);
  const auto user_it = form.find("user");
  const auto password_it = form.find("password");
  if (user_it == form.end() || password_it == form.end() || user_it->second.empty())
    return sign_in_form(r, "Give a user and a password.", 400);
  const std::string& name = user_it->second;
  const TimeMs now = clock_();
  if (const TimeMs wait = guard_.wait_ms(name, r.address, now); wait > 0) {
    const std::string seconds = std::to_string((wait + 999) / 1000);
    spdlog::warn("serve: sign-in of '{}' from {} refused: {} s to wait after failures", name.substr(0, 64), r.address, seconds);
    Response out = sign_in_form(r, "Too many failed sign-ins: try again in " + seconds + " s.", 429);
    out.headers.emplace_back("Retry-After", seconds);
    return out;
  }
  const auto user = std::find_if(cfg_.serve.users.begin(), cfg_.serve.users.end(),
                                 [&](const DashboardUser& u) { return u.name == name; });
  const bool ok = verify_password(password_it->second, user != cfg_.serve.users.end() ? user->password_hash : kDecoyHash) &&
                  user != cfg_.serve.users.end();
  if (!ok) {
    guard_.failed(name, r.address, clock_());
    spdlog::warn("serve: failed sign-in of '{}' from {}", name.substr(0, 64), r.address);
    return sign_in_form(r, "Unknown user or wrong password.", 401);
  }
  guard_.succeeded(name, r.address);
  const std::string token = sessions_.open(user->name, user->tenant, clock_());
  spdlog::info("serve: {} ({}) signed in from {}", user->name, user->tenant, r.address);
  return Response{303, "text/plain; charset=utf-8", "signed in\n",
                  {{"Location", "/portfolio"},
                   {"Set-Cookie", std::string(kCookie) + "=" + token + "; Path=/; Max-Age=" +
                                      std::to_string(cfg_.serve.session_hours * 3600) + "; HttpOnly; SameSite=Strict" +
                                      (cfg_.serve.tls() ? "; Secure" : "")}},
                  {}};
}

Response Dashboard::portfolio(const Session& s, const std::map<std::string, std::string>& query) {
  const auto sites = tenant_sites(s.tenant);
  // "Today" is the first site's: a tenant's sites share a region in practice.
  const LocalClock first_clock = sites.empty() ? SiteThresholds().clock() : thresholds(s.tenant, sites.front()).clock();
  const auto range = range_of(query, first_clock);
  if (const auto* problem = std::get_if<std::string>(&range)) return bad_request(*problem);
  const Range rg = std::get<Range>(range);
  const std::int32_t length = rg.to_day - rg.from_day;
  const std::string from = LocalClock::date(rg.from_day);
  const std::string last = LocalClock::date(rg.to_day - 1);

  struct Row {
    std::string site;
    WindowFigures now, before;
  };
  std::vector<Row> rows;
  for (const std::string& site : sites) {
    const SiteThresholds thr = thresholds(s.tenant, site);
    const LocalClock local = thr.clock();
    const TimeMs a = local.day_start(rg.from_day);
    const TimeMs b = local.day_start(rg.to_day);
    std::lock_guard lock(store_mutex_);
    rows.push_back({site, read_report_document(store_, thr, s.tenant, site, a, b, false).summary,
                    read_report_document(store_, thr, s.tenant, site, local.day_start(rg.from_day - length), a, false)
                        .summary});
  }
  std::string table =
      "<div class=\"scroll\"><table class=\"data sortable\" id=\"league\"><thead><tr>"
      "<th data-sort=\"text\">Site</th><th data-sort=\"number\">Visitors</th><th data-sort=\"number\">Change</th>"
      "<th data-sort=\"number\">Passers-by</th><th data-sort=\"number\">Capture rate</th>"
      "<th data-sort=\"number\">Conversion</th><th data-sort=\"number\">Dwell (mean)</th></tr></thead><tbody>\n";
  WindowFigures total, total_before;
  double dwell_weighted = 0;
  std::int64_t dwell_visitors = 0;
  for (const Row& row : rows) {
    const auto& f = row.now;
    table += "<tr><th scope=\"row\" data-value=\"" + html_escape(row.site) + "\"><a href=\"/sites/" + html_escape(row.site) +
             "?" + query_string(from, last) + "\">" + html_escape(row.site) + "</a></th>";
    table += "<td data-value=\"" + std::to_string(f.visitors) + "\">" + format_count(static_cast<double>(f.visitors)) + "</td>";
    table += change_cell(change(static_cast<double>(f.visitors), static_cast<double>(row.before.visitors)));
    table += "<td data-value=\"" + std::to_string(f.passers_by()) + "\">" + format_count(static_cast<double>(f.passers_by())) + "</td>";
    table += "<td" + value_attr(f.capture_rate()) + ">" + opt_ratio(f.capture_rate()) + "</td>";
    table += "<td" + value_attr(f.conversion()) + ">" + opt_ratio(f.conversion()) + "</td>";
    table += "<td" + value_attr(f.dwell_mean_min) + ">" + opt_minutes(f.dwell_mean_min) + "</td></tr>\n";
    total.awareness += f.awareness;
    total.visitors += f.visitors;
    total.transactions += f.transactions;
    total.revenue += f.revenue;
    total_before.visitors += row.before.visitors;
    if (f.dwell_mean_min) {
      dwell_weighted += *f.dwell_mean_min * static_cast<double>(f.visitors);
      dwell_visitors += f.visitors;
    }
  }
  if (dwell_visitors > 0) total.dwell_mean_min = dwell_weighted / static_cast<double>(dwell_visitors);
  table += "</tbody><tfoot><tr><th scope=\"row\">Total (" + std::to_string(rows.size()) + " sites)</th><td>" +
           format_count(static_cast<double>(total.visitors)) + "</td>" +
           change_cell(change(static_cast<double>(total.visitors), static_cast<double>(total_before.visitors))) + "<td>" +
           format_count(static_cast<double>(total.passers_by())) + "</td><td>" + opt_ratio(total.capture_rate()) + "</td><td>" +
           opt_ratio(total.conversion()) + "</td><td>" + opt_minutes(total.dwell_mean_min) + "</td></tr></tfoot></table></div>\n";
  std::string main = range_form("/portfolio", from, last);
  main += "<section id=\"portfolio\"><h2>Sites</h2><p class=\"lead\">Every site of " + html_escape(s.tenant) +
          " over the chosen days; change is against the " + std::to_string(length) +
          " days before. Click a heading to sort. Capture rate and the other figures: "
          "<a href=\"#definitions\">definitions</a> below.</p>" +
          (rows.empty() ? std::string("<p class=\"no-data\">no sites yet: none configured and none in the store</p>") : table) +
          "</section>\n";
  main += "<section id=\"live\" class=\"live\" data-site=\"\"><h2>Occupancy now</h2><div class=\"scroll\"><table class=\"data\" "
          "id=\"live-table\"><thead><tr><th>Site</th><th>Devices now</th><th>Zones</th><th>Sample</th></tr></thead><tbody>"
          "<tr><td colspan=\"4\" class=\"no-data\">waiting for the first update</td></tr></tbody></table></div>"
          "<p class=\"note\" id=\"live-status\">updated every " + std::to_string(cfg_.serve.live_interval_s) +
          " s while this page is open</p></section>\n";
  main += "<footer id=\"definitions\"><h2>Definitions</h2><dl>"
          "<dt>Visitors</dt><dd>devices that came in (a visit longer than the site's minimum dwell), residents excluded</dd>"
          "<dt>Passers-by</dt><dd>devices seen outside only</dd>"
          "<dt>Capture rate</dt><dd>visitors / (visitors + passers-by)</dd>"
          "<dt>Conversion</dt><dd>transactions / visitors (needs imported sales)</dd>"
          "<dt>Dwell (mean)</dt><dd>mean length of a visitor's visit</dd>"
          "<dt>Change</dt><dd>visitors against the same number of days just before</dd></dl></footer>\n";
  return Response{200, "text/html; charset=utf-8",
                  page(s.tenant + " \xE2\x80\x94 portfolio", nav_of(s, ""),
                       html_escape(from) + " \xE2\x80\x93 " + html_escape(last) + " &middot; " + std::to_string(length) + " days",
                       main),
                  {}, {}};
}

Response Dashboard::site_page(const Session& s, const std::string& site, const std::map<std::string, std::string>& query) {
  const SiteThresholds thr = thresholds(s.tenant, site);
  const LocalClock local = thr.clock();
  const auto range = range_of(query, local);
  if (const auto* problem = std::get_if<std::string>(&range)) return bad_request(*problem);
  const Range rg = std::get<Range>(range);
  const std::int32_t length = rg.to_day - rg.from_day;
  const TimeMs a = local.day_start(rg.from_day);
  const TimeMs b = local.day_start(rg.to_day);
  const std::string from = LocalClock::date(rg.from_day);
  const std::string last = LocalClock::date(rg.to_day - 1);

  json document;
  std::vector<bool> has_data;
  struct Compared {
    const char* name;
    const char* label;
    std::int32_t back_days;  // local days back (a day of 23 or 25 hours is one day)
    WindowFigures f;
    bool has_data = false;  // any day of the period with a stored visit or occupancy sample
  };
  // Last year is 52 weeks back, so weekdays line up (a Saturday is compared with a Saturday).
  std::vector<Compared> periods = {{"this", "These days", 0, {}},
                                   {"previous", "Previous period", length, {}},
                                   {"last-week", "Same days last week", 7, {}},
                                   {"last-year", "Same days last year", 364, {}}};
  std::vector<ProbeHealthRecord> probes;
  {
    std::lock_guard lock(store_mutex_);
    ReportDocument doc = read_report_document(store_, thr, s.tenant, site, a, b, true);
    periods[0].f = doc.summary;
    for (std::size_t i = 1; i < periods.size(); ++i)
      periods[i].f = read_report_document(store_, thr, s.tenant, site, local.day_start(rg.from_day - periods[i].back_days),
                                          local.day_start(rg.to_day - periods[i].back_days), false)
                         .summary;
    has_data = days_with_data(store_, thr, s.tenant, site, a, b);
    for (Compared& p : periods) {
      const auto days = p.back_days == 0 ? has_data
                                         : days_with_data(store_, thr, s.tenant, site, local.day_start(rg.from_day - p.back_days),
                                                          local.day_start(rg.to_day - p.back_days));
      p.has_data = std::find(days.begin(), days.end(), true) != days.end();
    }
    probes = store_.probe_health(s.tenant, site);
    document = to_json(doc);
  }
  // Days without any stored data are missing, not zero: their figures become null (the page shows a dash).
  std::vector<std::string> missing;
  if (auto* days = document.contains("days") ? &document["days"] : nullptr; days != nullptr && days->is_array()) {
    for (std::size_t i = 0; i < days->size() && i < has_data.size(); ++i) {
      if (has_data[i]) continue;
      json& day = (*days)[i];
      for (auto& [key, value] : day.items())
        if (key != "date") value = nullptr;
      day["missing"] = true;
      missing.push_back(day.value("date", ""));
    }
  }

  std::string main = range_form("/sites/" + site, from, last);
  main += "<section id=\"live\" class=\"live\" data-site=\"" + html_escape(site) +
          "\"><h2>Occupancy now</h2><div class=\"live-now\"><span class=\"live-total\" id=\"live-total\">" +
          report::kNoValue + "</span> devices inside</div><div class=\"scroll\"><table class=\"data\" id=\"live-table\"><thead><tr>"
          "<th>Zone</th><th>Devices now</th></tr></thead><tbody></tbody></table></div><p class=\"note\" id=\"live-status\">updated "
          "every " + std::to_string(cfg_.serve.live_interval_s) + " s while this page is open</p></section>\n";

  // Comparisons: a table of deltas and one bar per period for visitors.
  struct Figure {
    const char* name;
    std::function<std::optional<double>(const WindowFigures&)> value;
    bool ratio;
  };
  const std::vector<Figure> figures = {
      {"Visitors", [](const WindowFigures& f) { return std::optional<double>(static_cast<double>(f.visitors)); }, false},
      {"Passers-by", [](const WindowFigures& f) { return std::optional<double>(static_cast<double>(f.passers_by())); }, false},
      {"Capture rate", [](const WindowFigures& f) { return f.capture_rate(); }, true},
      {"Conversion", [](const WindowFigures& f) { return f.conversion(); }, true},
      {"Dwell (mean, min)", [](const WindowFigures& f) { return f.dwell_mean_min; }, false},
      {"Revenue", [](const WindowFigures& f) { return std::optional<double>(f.revenue); }, false},
  };
  std::string table = "<div class=\"scroll\"><table class=\"data\" id=\"comparison-table\"><thead><tr><th>Figure</th>";
  for (const Compared& p : periods) {
    table += "<th>" + std::string(p.label) + "</th>";
    if (p.back_days != 0) table += "<th>Change</th>";
  }
  table += "</tr></thead><tbody>";
  for (const Figure& fig : figures) {
    table += "<tr><th scope=\"row\">" + std::string(fig.name) + "</th>";
    // NaN: no value (a period without data, or a ratio without a denominator).
    const auto value_of = [&](const Compared& p) {
      return p.has_data ? fig.value(p.f).value_or(std::nan("")) : std::nan("");
    };
    const double current = value_of(periods[0]);
    for (const Compared& p : periods) {
      // A period without any stored data is missing, not zero.
      const double v = value_of(p);
      table += "<td data-period=\"" + std::string(p.name) + "\">" +
               (!p.has_data      ? std::string("<span class=\"no-data\">no data</span>")
                : std::isnan(v) ? std::string(report::kNoValue)
                : fig.ratio     ? format_ratio(v)
                                : format_decimal(v, v == std::floor(v) ? 0 : 1)) +
               "</td>";
      if (p.back_days == 0) continue;
      std::optional<double> delta;
      if (!std::isnan(current) && !std::isnan(v)) delta = fig.ratio ? std::optional<double>(current - v) : change(current, v);
      table += change_cell(delta, fig.ratio);
    }
    table += "</tr>";
  }
  table += "</tbody></table></div>";
  report::CategoryAxis axis;
  report::ChartSeries visitors{"Visitors", {}, 0};
  for (const Compared& p : periods) {
    axis.labels.emplace_back(p.label);
    axis.tick_labels.emplace_back(p.label);
    axis.group_labels.emplace_back("");
    visitors.values.push_back(p.has_data ? static_cast<double>(p.f.visitors) : std::nan(""));
  }
  main += "<section id=\"comparison\"><h2>Comparison</h2><p class=\"lead\">" + html_escape(from) + " \xE2\x80\x93 " +
          html_escape(last) + " against the " + std::to_string(length) +
          " days before, the same days a week earlier and 52 weeks earlier (same weekdays).</p>" +
          report::bar_chart("comparison-visitors", "Visitors per period", axis, {visitors}, "visitors", {760, 220}) + table +
          "</section>\n";

  std::string coverage = "<section id=\"coverage\"><h2>Data coverage</h2>";
  if (missing.empty()) {
    coverage += "<p class=\"all-clear\">Data for every day of the range.</p>";
  } else {
    coverage += "<p class=\"lead\">" + std::to_string(missing.size()) +
                " day(s) without any data (no visit and no occupancy sample stored: the gateway or its probes were off). "
                "They are shown as missing (a dash), not as zero:</p><ul class=\"missing-days\">";
    for (const std::string& d : missing) coverage += "<li data-missing=\"" + html_escape(d) + "\">" + html_escape(d) + "</li>";
    coverage += "</ul>";
  }
  if (!probes.empty()) {
    coverage += "<div class=\"scroll\"><table class=\"data\" id=\"probes\"><thead><tr><th>Probe</th><th>Connected</th>"
                "<th>Last heartbeat (UTC)</th></tr></thead><tbody>";
    for (const ProbeHealthRecord& p : probes)
      coverage += "<tr><th scope=\"row\">" + html_escape(p.health.probe) + "</th><td>" + (p.health.connected ? "yes" : "no") +
                  "</td><td>" + html_escape(format_iso8601_utc(p.health.last_heartbeat)) + "</td></tr>";
    coverage += "</tbody></table></div>";
  }
  main += coverage + "</section>\n";

  const std::string q = query_string(from, last);
  std::string downloads = "<section id=\"downloads\"><h2>Downloads</h2><ul class=\"downloads\">"
                          "<li><a href=\"/sites/" + html_escape(site) + "/report.pdf?" + q + "\" id=\"pdf\">report.pdf</a> "
                          "(the report as printed)</li>";
  for (const ReportCsv& f : report_csv_files(document))
    downloads += "<li><a href=\"/sites/" + html_escape(site) + "/" + f.file + "?" + q + "\" download>" + f.file + "</a></li>";
  main += downloads + "</ul></section>\n";
  main += report::report_sections(document);
  return Response{200, "text/html; charset=utf-8",
                  page(site + " \xE2\x80\x94 visitor report", nav_of(s, site),
                       html_escape(from) + " \xE2\x80\x93 " + html_escape(last) + " &middot; " + std::to_string(length) +
                           " days &middot; " + html_escape(s.tenant),
                       main),
                  {}, {}};
}

// The report document of the query's range of local days, or the response that refuses the query.
std::variant<Dashboard::RangeDocument, Response> Dashboard::range_document(const Session& s, const std::string& site,
                                                                           const std::map<std::string, std::string>& query) {
  const SiteThresholds thr = thresholds(s.tenant, site);
  const LocalClock local = thr.clock();
  const auto range = range_of(query, local);
  if (const auto* problem = std::get_if<std::string>(&range)) return bad_request(*problem);
  const Range rg = std::get<Range>(range);
  std::lock_guard lock(store_mutex_);
  return RangeDocument{rg, to_json(read_report_document(store_, thr, s.tenant, site, local.day_start(rg.from_day),
                                                        local.day_start(rg.to_day), true))};
}

Response Dashboard::csv_file(const Session& s, const std::string& site, const std::string& file,
                             const std::map<std::string, std::string>& query) {
  auto ranged = range_document(s, site, query);
  if (auto* refused = std::get_if<Response>(&ranged)) return std::move(*refused);
  auto& [rg, document] = std::get<RangeDocument>(ranged);
  for (ReportCsv& f : report_csv_files(document)) {
    if (f.file != file) continue;
    const std::string name = site + "-" + LocalClock::date(rg.from_day) + "-" + LocalClock::date(rg.to_day - 1) + "-" + f.file;
    return Response{200, "text/csv; charset=utf-8", std::move(f.text),
                    {{"Content-Disposition", "attachment; filename=\"" + name + "\""}}, {}};
  }
  return not_found();
}

Response Dashboard::pdf_file(const Session& s, const std::string& site, const std::map<std::string, std::string>& query) {
  if (!chromium_available(cfg_.serve.chromium))
    return Response{503, "text/plain; charset=utf-8",
                    "PDF unavailable: it is printed by Chromium (" + cfg_.serve.chromium +
                        "), which is not installed on this server. The CSV downloads work, and the browser's Print "
                        "gives the same pages.\n",
                    {}, {}};
  auto ranged = range_document(s, site, query);
  if (auto* refused = std::get_if<Response>(&ranged)) return std::move(*refused);
  auto& [rg, document] = std::get<RangeDocument>(ranged);
  std::unique_lock lock(pdf_mutex_, std::try_to_lock);
  if (!lock.owns_lock())
    return Response{503, "text/plain; charset=utf-8", "PDF busy: one report is being printed; try again in a minute.\n",
                    {{"Retry-After", "30"}}, {}};
  const PdfResult pdf = print_to_pdf(cfg_.serve.chromium, report::report_page(document));
  if (!pdf.problem.empty()) return Response{500, "text/plain; charset=utf-8", "PDF failed: " + pdf.problem + "\n", {}, {}};
  const std::string name = site + "-" + LocalClock::date(rg.from_day) + "-" + LocalClock::date(rg.to_day - 1) + ".pdf";
  return Response{200, "application/pdf", pdf.bytes, {{"Content-Disposition", "attachment; filename=\"" + name + "\""}}, {}};
}

std::string Dashboard::live_event(const LiveStream& stream) {
  const TimeMs now = clock_();
  json sites = json::array();
  const std::vector<std::string> names = stream.site.empty() ? tenant_sites(stream.tenant) : std::vector{stream.site};
  for (const std::string& site : names) {
    std::vector<OccupancySample> samples;
    {
      std::lock_guard lock(store_mutex_);
      // A sample older than 15 minutes is no longer "now": the site shows no value.
      samples = store_.occupancy(stream.tenant, site, now - 15 * 60'000, now + 60'000);
    }
    json item = {{"site", site}, {"total", nullptr}, {"at", nullptr}, {"zones", json::object()}};
    if (!samples.empty()) {
      const auto latest = std::max_element(samples.begin(), samples.end(),
                                           [](const OccupancySample& x, const OccupancySample& y) { return x.at < y.at; });
      item["total"] = latest->total;
      item["at"] = format_iso8601_utc(latest->at);
      for (const auto& [zone, count] : latest->zones) item["zones"][zone] = count;
    }
    sites.push_back(std::move(item));
  }
  return json{{"at", format_iso8601_utc(now)}, {"sites", std::move(sites)}}.dump();
}

}  // namespace footfall::aggregator::serve
