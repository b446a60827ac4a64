#pragma once
// The installer's self-test report: one line per check (PASS / FAIL / SKIP, what was seen), a one-line hint under
// each failure, and a summary line. Formatting only: the checks are judged in checks.h, observed in observe.h.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace footfall::probe::selftest {

enum class CheckStatus : std::uint8_t {
  pass,
  fail,
  skip,  // not run because a check it depends on failed; never counts as passed
};

std::string_view to_string(CheckStatus s);

struct CheckResult {
  std::string name;    // short, fixed: interface, monitor, capture, frames, gateway, clock, spool
  CheckStatus status = CheckStatus::fail;
  std::string detail;  // what was seen, one line
  std::string hint;    // what to do about it, one line; failures and skips only
};

// "PASS  interface  wlan0 exists ..." plus "      hint: ..." under a failure.
std::string format_check(const CheckResult& r);

// "summary: PASS, all 7 checks passed" or "summary: FAIL, 5 of 7 checks passed (failed: gateway; skipped: frames)".
std::string format_summary(const std::vector<CheckResult>& results);

// 0 only when there is at least one check and every check passed; 1 otherwise.
int exit_code(const std::vector<CheckResult>& results);

}  // namespace footfall::probe::selftest
