#include "gateway/anonymize/opt_out.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace footfall::gateway {
namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::variant<OptOutList, std::string> OptOutList::parse(std::string_view text, std::string_view label) {
  OptOutList list;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto mac = MacAddress::parse(line);
    if (!mac) {
      return std::string(label) + ":" + std::to_string(line_no) + ": not a MAC address: '" + std::string(line) + "'";
    }
    list.sorted_.push_back(mac->as_u64());
  }
  std::sort(list.sorted_.begin(), list.sorted_.end());
  list.sorted_.erase(std::unique(list.sorted_.begin(), list.sorted_.end()), list.sorted_.end());
  return list;
}

std::variant<OptOutList, std::string> OptOutList::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return path.string() + ": cannot be read";
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return path.string() + ": read error";
  return parse(text.str(), path.string());
}

bool OptOutList::contains(const MacAddress& mac) const {
  return std::binary_search(sorted_.begin(), sorted_.end(), mac.as_u64());
}

}  // namespace footfall::gateway
