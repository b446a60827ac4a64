// A gateway publisher in its own process, for the last-will test: the test kills it with SIGKILL.
// Usage: publisher_child SERVER_URI OUTBOX_DIR TENANT SITE
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "common/clock.h"
#include "gateway/publish/publisher.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s SERVER_URI OUTBOX_DIR TENANT SITE\n", argv[0]);
    return 2;
  }
  using namespace footfall::gateway::publish;
  auto now = [] { return footfall::clock::wall_ms(); };
  PublisherConfig cfg;
  cfg.server_uri = argv[1];
  cfg.outbox_dir = argv[2];
  cfg.tenant = argv[3];
  cfg.site = argv[4];
  cfg.software_version = "test";
  auto opened = Publisher::open(cfg, now());
  if (!opened.publisher) {
    std::fprintf(stderr, "%s\n", opened.error.c_str());
    return 1;
  }
  // Bounded: exits by itself if nobody kills it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    opened.publisher->poll(now());
    struct timespec ts{0, 20'000'000};
    ::nanosleep(&ts, nullptr);
  }
  return 0;
}
