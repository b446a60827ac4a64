#pragma once
// The uncompressed batch body: tables of distinct MACs, fingerprints and frequencies, then presence
// events row by row, then sightings column by column. Columns put like values side by side (indices,
// small time deltas, RSSI jitter), which is what lets zstd bring a sighting under 4 bytes.
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/byte_cursor.h"
#include "common/wire/bad_reason.h"
#include "common/wire/frame.h"
#include "common/wire/messages.h"

namespace footfall::wire {

// Worst-case uncompressed bytes one record can add to a body (new table entries included);
// the batch builder sums these so a sealed batch never exceeds the receiver's decompression cap.
inline constexpr std::size_t kMaxSightingBodyBytes = 6 + 10 + 1 + 3 + 1 + 3 + 3 + 2 + 3 + 8 + 3 + 3;
// An event's previous address is a MAC table entry of its own (6 bytes) named by a slot (3).
inline constexpr std::size_t kMaxEventBodyBytes = 1 + 3 + 6 + 10 + 3 + 8 + 10 + 10 + 5 + 5 + 4 + 3 + 5 + 10 + 3 + 6 + 3;

// How the sighting columns are ordered. by_device (each device's sightings together, time coded against
// that device's own rhythm) is used whenever the sightings are in (ts, mac) order, which the batch
// builder guarantees; in_order keeps any other order exactly.
enum class SightingLayout : std::uint8_t { in_order = 0, by_device = 1 };

// Sorts sightings into the order the by_device layout reproduces: by time, then by address, stable.
void sort_for_wire(std::vector<Sighting>& sightings);

struct ColumnTables;  // what the sighting columns are coded against (batch_body.cpp)

class BatchBodyWriter {
 public:
  // Replaces `raw` with the encoding of `body`. Scratch tables are kept between calls.
  void write(const BatchBody& body, std::vector<std::uint8_t>& raw);
  [[nodiscard]] SightingLayout last_layout() const { return layout_; }
  // End offsets of the body's sections (tables and events, then each column): the compressor starts a
  // new zstd block at each, so every column gets an entropy table of its own.
  [[nodiscard]] std::span<const std::size_t> sections() const { return sections_; }

 private:
  std::unordered_map<std::uint64_t, std::uint32_t> mac_index_;
  std::vector<MacAddress> macs_;
  std::unordered_map<std::uint64_t, std::uint32_t> fp_index_;
  std::vector<std::uint64_t> fps_;
  std::unordered_map<std::uint16_t, std::uint32_t> freq_index_;
  std::vector<std::uint16_t> freqs_;
  std::vector<std::uint32_t> sighting_mac_;  // slot of each sighting, input order
  std::vector<std::uint32_t> order_;         // input index of each sighting, encoded order
  std::vector<std::uint32_t> per_device_;
  std::vector<std::uint32_t> next_slot_;
  std::vector<std::int64_t> last_ts_;
  std::vector<std::uint64_t> last_fp_;
  std::vector<std::uint16_t> last_freq_;
  std::vector<std::uint64_t> last_;  // what a column codes against, per device (or one for the batch)
  std::vector<std::uint8_t> first_;  // encoded position is its device's first sighting
  std::vector<std::uint8_t> seen_;
  std::vector<std::uint64_t> codes_;
  std::vector<std::size_t> sections_;
  SightingLayout layout_ = SightingLayout::in_order;

  template <typename Column>
  void put_column(const std::vector<Sighting>& sightings, const ColumnTables& tables, std::vector<std::uint8_t>& raw);
};

class BatchBodyReader {
 public:
  // Decodes untrusted bytes into `out` (cleared first). Every count is checked against the bytes left
  // before anything is sized from it. `version` is the frame's wire version: version 1 event rows lack
  // the cause / ble flags and the interval statistics, versions 1 and 2 the device linking (device 0:
  // one device per address); what a row lacks is left at its default.
  std::optional<BadReason> read(std::span<const std::uint8_t> raw, BatchBody& out,
                                std::uint8_t version = kWireVersion);

 private:
  std::vector<MacAddress> macs_;
  std::vector<std::uint64_t> fps_;
  std::vector<std::uint16_t> freqs_;
  std::vector<std::uint32_t> sighting_mac_;  // slot of each sighting, encoded order
  std::vector<std::uint32_t> per_device_;
  std::vector<std::uint64_t> last_;
  std::vector<std::uint8_t> first_;
  std::vector<std::uint8_t> seen_;
  std::vector<std::uint64_t> codes_;

  template <typename Column>
  std::optional<BadReason> take_column(ByteCursor& in, std::vector<Sighting>& sightings, const ColumnTables& tables);
};

}  // namespace footfall::wire
