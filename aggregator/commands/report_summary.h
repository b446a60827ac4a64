#pragma once
// The terminal view of a report document: the 3A3R table and the visitor-flow summary, for people who run
// `footfall-aggregator report --summary` (and tools/demo) and want the figures without opening the HTML.
#include <ostream>

#include "aggregator/aggregate/report_document.h"

namespace footfall::aggregator {

void print_report_summary(const ReportDocument& document, std::ostream& out);

}  // namespace footfall::aggregator
