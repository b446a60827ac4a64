#pragma once
// The receive side's health (ReceiveServer::health(), also the content of health.json) as the site stage
// publishes it on `.../probes`: one probe health item per probe, counters, and every drop by reason.
#include "gateway/receive/receive_health.h"
#include "gateway/site/site_pipeline.h"

namespace footfall::gateway {

ReceiveSnapshot receive_snapshot(const ReceiveHealth& health);

}  // namespace footfall::gateway
