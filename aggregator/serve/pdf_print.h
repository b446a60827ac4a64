#pragma once
// The report as PDF: Chromium, headless, prints the report page (--print-to-pdf) from a scratch folder.
#include <string>

namespace footfall::aggregator::serve {

struct PdfResult {
  std::string bytes;    // the PDF
  std::string problem;  // empty on success
};

bool chromium_available(const std::string& chromium);

// Blocks until Chromium is done, at most 60 s (then it is killed and the problem says so).
PdfResult print_to_pdf(const std::string& chromium, const std::string& html);

}  // namespace footfall::aggregator::serve
