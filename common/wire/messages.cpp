#include "common/wire/messages.h"

namespace footfall::wire {

std::string_view to_string(MessageType t) {
  switch (t) {
    case MessageType::hello: return "hello";
    case MessageType::hello_reply: return "hello_reply";
    case MessageType::batch: return "batch";
    case MessageType::ack: return "ack";
    case MessageType::heartbeat: return "heartbeat";
  }
  return "unknown";
}

std::string_view to_string(RefuseReason r) {
  switch (r) {
    case RefuseReason::none: return "none";
    case RefuseReason::bad_token: return "bad_token";
    case RefuseReason::unknown_probe: return "unknown_probe";
    case RefuseReason::unsupported_version: return "unsupported_version";
    case RefuseReason::duplicate_session: return "duplicate_session";
    case RefuseReason::gateway_busy: return "gateway_busy";
    case RefuseReason::certificate_mismatch: return "certificate_mismatch";
  }
  return "unknown";
}

MessageType type_of(const Message& m) {
  struct Visitor {
    MessageType operator()(const Hello&) const { return MessageType::hello; }
    MessageType operator()(const HelloReply&) const { return MessageType::hello_reply; }
    MessageType operator()(const Batch&) const { return MessageType::batch; }
    MessageType operator()(const Ack&) const { return MessageType::ack; }
    MessageType operator()(const Heartbeat&) const { return MessageType::heartbeat; }
  };
  return std::visit(Visitor{}, m);
}

}  // namespace footfall::wire
