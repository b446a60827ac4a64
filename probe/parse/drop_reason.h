#pragma once
// Why a packet produced no sighting. Radio is noisy: these are normal traffic, counted, never fatal.
// "Ignored" reasons are frames we do not want (data, control, other management subtypes);
// "malformed" reasons are frames we wanted but could not read.
#include <array>
#include <cstdint>
#include <string_view>

namespace footfall::probe::parse {

#define FOOTFALL_DROP_REASONS(X)                                                     \
  /* ignored: well-formed but not of interest */                                     \
  X(not_management, false)       /* data or control frame */                         \
  X(other_management, false)     /* management subtype other than 4, 5, 8 */         \
  X(extension_frame, false)      /* 802.11 type 3 (e.g. DMG beacon) */               \
  X(ble_not_advertising, false)  /* BLE data-channel PDU */                          \
  X(ble_not_wanted, false)       /* BLE packet while --ble is off */                 \
  X(ble_no_address, false)       /* extended advert without AdvA: nobody to count */ \
  /* malformed: wanted but unreadable */                                             \
  X(radiotap_truncated, true)    /* header shorter than it says, or than its fields */ \
  X(radiotap_bad_version, true)                                                      \
  X(radiotap_bad_length, true)   /* it_len smaller than the fixed header */          \
  X(ppi_truncated, true)                                                             \
  X(ppi_bad_header, true)                                                            \
  X(ppi_unsupported_dlt, true)   /* PPI carrying a link type we do not decode */     \
  X(prism_truncated, true)                                                           \
  X(prism_bad_header, true)      /* message length below the fixed header */         \
  X(avs_truncated, true)                                                             \
  X(avs_bad_header, true)                                                            \
  X(bad_fcs, true)               /* radio header says the FCS check failed */        \
  X(dot11_truncated, true)       /* shorter than the management header */            \
  X(dot11_bad_version, true)     /* protocol version field not 0 */                  \
  X(ble_truncated, true)                                                             \
  X(ble_bad_header, true)                                                            \
  X(snaplen_truncated, true)     /* captured length below wire length and unreadable */

enum class DropReason : std::uint8_t {
#define FOOTFALL_X(name, malformed) name,
  FOOTFALL_DROP_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
};

inline constexpr std::size_t kDropReasonCount = 0
#define FOOTFALL_X(name, malformed) +1
    FOOTFALL_DROP_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
    ;

constexpr std::string_view to_string(DropReason r) {
  constexpr std::array<std::string_view, kDropReasonCount> names{
#define FOOTFALL_X(name, malformed) #name,
      FOOTFALL_DROP_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
  };
  return names[static_cast<std::size_t>(r)];
}

constexpr bool is_malformed(DropReason r) {
  constexpr std::array<bool, kDropReasonCount> flags{
#define FOOTFALL_X(name, malformed) malformed,
      FOOTFALL_DROP_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
  };
  return flags[static_cast<std::size_t>(r)];
}

// Per-reason counters; cheap to copy, no allocation.
struct DropCounters {
  std::array<std::uint64_t, kDropReasonCount> by_reason{};
  void count(DropReason r) { ++by_reason[static_cast<std::size_t>(r)]; }
  [[nodiscard]] std::uint64_t operator[](DropReason r) const { return by_reason[static_cast<std::size_t>(r)]; }
};

}  // namespace footfall::probe::parse
