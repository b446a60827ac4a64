#include "gateway/publish/micro_batcher.h"

#include <utility>

namespace footfall::gateway::publish {

bool MicroBatcher::add(std::string item, UnixMs now) {
  if (full() || (!items_.empty() && bytes_ + item.size() > limits_.max_bytes)) return false;
  open(now);
  bytes_ += item.size();
  items_.push_back(std::move(item));
  return true;
}

void MicroBatcher::open(UnixMs now) {
  if (open_) return;
  open_ = true;
  opened_at_ = now;
}

bool MicroBatcher::full() const { return items_.size() >= limits_.max_events || bytes_ >= limits_.max_bytes; }

bool MicroBatcher::due(UnixMs now) const { return open_ && (full() || now - opened_at_ >= limits_.interval_ms); }

std::optional<SealedItems> MicroBatcher::seal(UnixMs now) {
  if (!open_) return std::nullopt;
  SealedItems out{std::move(items_), opened_at_, now};
  items_.clear();
  bytes_ = 0;
  open_ = false;
  return out;
}

}  // namespace footfall::gateway::publish
