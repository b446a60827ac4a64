#include "gateway/site/site_checkpoint.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/atomic_file.h"

namespace footfall::gateway {

std::variant<SiteCheckpoint, std::string> load_site_checkpoint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return SiteCheckpoint{};
    return "cannot read " + path.string();
  }
  std::ostringstream text;
  text << in.rdbuf();
  const auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  SiteCheckpoint c;
  auto field = [&doc](const char* key, auto& out) {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_number_unsigned()) return false;
    out = it->template get<std::remove_reference_t<decltype(out)>>();
    return true;
  };
  if (!doc.is_object() || !field("processed_through", c.processed_through) ||
      !field("consumed_through", c.consumed_through) || !field("retired_before", c.retired_before))
    return path.string() + ": not a site checkpoint (remove it to replay the whole journal)";
  if (const auto it = doc.find("processed_clock_ns"); it != doc.end()) {
    if (!it->is_number_integer()) return path.string() + ": processed_clock_ns is not an integer";
    c.processed_clock_ns = it->get<std::int64_t>();
  }
  return c;
}

std::string save_site_checkpoint(const std::filesystem::path& path, const SiteCheckpoint& c) {
  const std::string text = nlohmann::json{{"processed_through", c.processed_through},
                                          {"consumed_through", c.consumed_through},
                                          {"retired_before", c.retired_before},
                                          {"processed_clock_ns", c.processed_clock_ns}}
                               .dump() +
                           "\n";
  atomic_file::Options options;
  options.mode = 0600;
  if (const auto e = atomic_file::write(path, text, options)) return e->message();
  return {};
}

}  // namespace footfall::gateway
