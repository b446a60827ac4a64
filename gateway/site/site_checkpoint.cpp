#include "gateway/site/site_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"

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
  const auto tmp = std::filesystem::path(path.string() + ".tmp");
  auto fail = [](const std::filesystem::path& p) { return p.string() + ": " + std::strerror(errno); };
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail(tmp);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd.get(), text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return fail(tmp);
    done += static_cast<std::size_t>(w);
  }
  if (::fdatasync(fd.get()) != 0) return fail(tmp);
  fd.close_now();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(path);
  UniqueFd dir(::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) (void)::fsync(dir.get());
  return {};
}

}  // namespace footfall::gateway
