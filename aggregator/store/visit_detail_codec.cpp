#include "aggregator/store/visit_detail_codec.h"

#include <nlohmann/json.hpp>

#include <bit>
#include <string>

#include "common/byte_cursor.h"
#include "common/wire/varint.h"

namespace footfall::aggregator {
namespace {

using wire::put_varint;
using wire::put_zigzag;

void put_string(std::vector<std::uint8_t>& out, const std::string& s) {
  put_varint(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

struct BlobReader {
  ByteCursor in;
  bool bad = false;

  std::uint64_t varint() {
    std::uint64_t v = 0;
    bool overlong = false;
    if (!wire::get_varint(in, v, overlong)) bad = true;
    return v;
  }
  std::int64_t zigzag() { return wire::unzigzag(varint()); }
  void string(std::string& out) {
    const std::uint64_t n = varint();
    if (bad || n > in.remaining()) {
      bad = true;
      return;
    }
    const auto bytes = in.bytes(static_cast<std::size_t>(n));
    out.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  // A count is checked against what is left (each item takes at least one byte), so a damaged count
  // cannot make a huge allocation.
  std::size_t count() {
    const std::uint64_t n = varint();
    if (bad || n > in.remaining()) {
      bad = true;
      return 0;
    }
    return static_cast<std::size_t>(n);
  }
};

}  // namespace

void encode_visit_detail(const Visit& v, std::vector<std::uint8_t>& out) {
  out.clear();
  out.push_back(kVisitDetailVersion);
  put_varint(out, v.zones.size());
  for (const auto& z : v.zones) put_string(out, z);
  put_varint(out, v.strongest_zone.size());
  for (const auto& s : v.strongest_zone) {
    put_zigzag(out, s.from - v.arrival);
    put_string(out, s.zone);
  }
  put_varint(out, v.probes.size());
  for (const auto& p : v.probes) {
    put_string(out, p.probe);
    put_string(out, p.zone);
    put_zigzag(out, p.first_seen - v.arrival);
    put_zigzag(out, p.last_seen - p.first_seen);
    put_zigzag(out, p.frames);
    put_zigzag(out, p.rssi_max);
    wire::put_le(out, std::bit_cast<std::uint64_t>(p.rssi_mean), 8);
  }
}

bool decode_visit_detail(std::span<const std::uint8_t> blob, Visit& v) {
  BlobReader r{ByteCursor(blob)};
  if (r.in.u8() != kVisitDetailVersion) return false;
  v.zones.resize(r.count());
  for (auto& z : v.zones) r.string(z);
  v.strongest_zone.resize(r.count());
  for (auto& s : v.strongest_zone) {
    s.from = v.arrival + r.zigzag();
    r.string(s.zone);
  }
  v.probes.resize(r.count());
  for (auto& p : v.probes) {
    r.string(p.probe);
    r.string(p.zone);
    p.first_seen = v.arrival + r.zigzag();
    p.last_seen = p.first_seen + r.zigzag();
    p.frames = r.zigzag();
    p.rssi_max = static_cast<int>(r.zigzag());
    p.rssi_mean = std::bit_cast<double>(r.in.le64());
  }
  return !r.bad && r.in.ok() && r.in.remaining() == 0;
}

OccupancySample occupancy_sample(std::string_view tenant, std::string_view site, TimeMs at, std::int64_t total,
                                 std::string_view zones_json) {
  OccupancySample s{std::string(tenant), std::string(site), at, total, {}};
  const auto zones = nlohmann::json::parse(zones_json, nullptr, false);
  if (zones.is_object())
    for (const auto& [zone, n] : zones.items()) s.zones[zone] = n.is_number_integer() ? n.get<std::int64_t>() : 0;
  return s;
}

}  // namespace footfall::aggregator
