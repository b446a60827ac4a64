#pragma once
// The receive side's health (ReceiveServer::health_json(), the content of health.json) as the site stage
// publishes it on `.../probes`: one ProbeHealth per probe, counters, and every drop by reason.
#include <nlohmann/json_fwd.hpp>

#include "gateway/site/site_pipeline.h"

namespace footfall::gateway {

ReceiveSnapshot receive_snapshot(const nlohmann::json& health);

}  // namespace footfall::gateway
