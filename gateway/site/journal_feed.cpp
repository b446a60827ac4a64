#include "gateway/site/journal_feed.h"

#include <future>
#include <memory>

#include <boost/asio/post.hpp>

#include "gateway/receive/server.h"

namespace footfall::gateway {

void read_chunk(Journal& journal, std::uint64_t after, std::size_t max_records, JournalChunk& out) {
  out.entries.resize(max_records);
  std::size_t n = 0;
  out.error.clear();
  while (n < max_records) {
    const auto seq = journal.read_next(after, out.entries[n], &out.error);
    if (!seq) break;
    after = *seq;
    ++n;
  }
  out.entries.resize(n);
  const JournalStats stats = journal.stats();
  out.disk_bytes = stats.disk_bytes;
  out.max_bytes = stats.max_bytes;
}

bool DirectJournalFeed::read(std::uint64_t after, std::size_t max_records, JournalChunk& out) {
  read_chunk(journal_, after, max_records, out);
  return true;
}

std::string DirectJournalFeed::consume_through(std::uint64_t seq) {
  const JournalError e = journal_.consume_through(seq);
  return e ? e.message() : std::string();
}

bool IoJournalFeed::read(std::uint64_t after, std::size_t max_records, JournalChunk& out) {
  // The task owns its buffers: if the wait times out, the io thread still writes into live memory.
  auto task = std::make_shared<std::packaged_task<JournalChunk()>>([this, after, max_records] {
    JournalChunk chunk;
    read_chunk(journal_, after, max_records, chunk);
    return chunk;
  });
  auto result = task->get_future();
  boost::asio::post(io_, [task] { (*task)(); });
  if (result.wait_for(timeout_) != std::future_status::ready) return false;
  out = result.get();
  return true;
}

std::string IoJournalFeed::consume_through(std::uint64_t seq) {
  auto task = std::make_shared<std::packaged_task<std::string()>>([this, seq] {
    const JournalError e = journal_.consume_through(seq);
    if (e) return e.message();
    server_.journal_space_freed();  // batches waiting for room may go in now
    return std::string();
  });
  auto result = task->get_future();
  boost::asio::post(io_, [task] { (*task)(); });
  if (result.wait_for(timeout_) != std::future_status::ready) return "journal thread did not answer";
  return result.get();
}

}  // namespace footfall::gateway
