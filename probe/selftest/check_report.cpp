#include "probe/selftest/check_report.h"

#include <algorithm>

namespace footfall::probe::selftest {

namespace {
constexpr std::size_t kNameWidth = 11;  // the longest check name plus a space: columns line up
}

std::string_view to_string(CheckStatus s) {
  switch (s) {
    case CheckStatus::pass: return "PASS";
    case CheckStatus::fail: return "FAIL";
    case CheckStatus::skip: return "SKIP";
  }
  return "?";
}

std::string format_check(const CheckResult& r) {
  std::string name = r.name;
  name.resize(std::max(kNameWidth, name.size() + 1), ' ');
  std::string out = std::string(to_string(r.status)) + "  " + name + r.detail + "\n";
  if (r.status != CheckStatus::pass && !r.hint.empty()) out += "      hint: " + r.hint + "\n";
  return out;
}

std::string format_summary(const std::vector<CheckResult>& results) {
  std::size_t passed = 0;
  std::string failed;
  std::string skipped;
  for (const CheckResult& r : results) {
    if (r.status == CheckStatus::pass) ++passed;
    std::string& list = r.status == CheckStatus::fail ? failed : skipped;
    if (r.status != CheckStatus::pass) list += (list.empty() ? "" : ", ") + r.name;
  }
  if (exit_code(results) == 0) return "summary: PASS, all " + std::to_string(results.size()) + " checks passed\n";
  std::string out = "summary: FAIL, " + std::to_string(passed) + " of " + std::to_string(results.size()) +
                    " checks passed";
  std::string why;
  if (!failed.empty()) why += "failed: " + failed;
  if (!skipped.empty()) why += (why.empty() ? "" : "; ") + std::string("skipped: ") + skipped;
  if (!why.empty()) out += " (" + why + ")";
  return out + "\n";
}

int exit_code(const std::vector<CheckResult>& results) {
  const bool all = !results.empty() && std::all_of(results.begin(), results.end(), [](const CheckResult& r) {
    return r.status == CheckStatus::pass;
  });
  return all ? 0 : 1;
}

}  // namespace footfall::probe::selftest
