#pragma once
// How the site stage reaches the journal. The Journal is not thread-safe and belongs to the receive
// side's io thread, so the stage (on its own thread) asks that thread for records and for trimming;
// in tests and benchmarks, where there is one thread, it calls the journal directly.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "gateway/journal/journal.h"

namespace footfall::gateway {

class ReceiveServer;

struct JournalChunk {
  std::vector<JournalEntry> entries;  // oldest first
  std::uint64_t disk_bytes = 0;       // journal size now, for the replay horizon
  std::uint64_t max_bytes = 0;
  std::string error;                  // a read error (the entries before it are valid)
};

class JournalFeed {
 public:
  virtual ~JournalFeed() = default;
  // Up to max_records unconsumed records with journal seq > after. False when the journal could not be
  // reached (shutting down).
  virtual bool read(std::uint64_t after, std::size_t max_records, JournalChunk& out) = 0;
  // Marks every record <= seq consumed. Empty on success, else what failed.
  virtual std::string consume_through(std::uint64_t seq) = 0;
};

// Same thread as the journal's owner.
class DirectJournalFeed final : public JournalFeed {
 public:
  explicit DirectJournalFeed(Journal& journal) : journal_(journal) {}
  bool read(std::uint64_t after, std::size_t max_records, JournalChunk& out) override;
  std::string consume_through(std::uint64_t seq) override;

 private:
  Journal& journal_;
};

// Through the receive side's io_context: each call is posted there and waited for, bounded; the receive
// side only ever does the journal work itself (a read is one pread per record), never waits on this stage.
class IoJournalFeed final : public JournalFeed {
 public:
  IoJournalFeed(boost::asio::io_context& io, Journal& journal, ReceiveServer& server,
                std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : io_(io), journal_(journal), server_(server), timeout_(timeout) {}
  bool read(std::uint64_t after, std::size_t max_records, JournalChunk& out) override;
  std::string consume_through(std::uint64_t seq) override;

 private:
  boost::asio::io_context& io_;
  Journal& journal_;
  ReceiveServer& server_;
  std::chrono::milliseconds timeout_;
};

// Reads up to max_records into out (shared by both feeds).
void read_chunk(Journal& journal, std::uint64_t after, std::size_t max_records, JournalChunk& out);

}  // namespace footfall::gateway
