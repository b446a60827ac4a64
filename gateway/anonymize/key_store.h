#pragma once
// The tenant's epoch keys on the gateway's disk: one file per epoch, "epoch-<N>.key", exactly 32 random
// bytes, mode 0600, in a directory only the gateway's user can read. A key file is created once (never
// replaced), loaded read-only, and destroyed when its epoch is retired: overwritten with zeros, synced,
// unlinked, directory synced. Destroying the key is what makes the epoch's pseudonyms impossible to
// recompute from a MAC address.
//
// Limits: on flash storage and journaling or copy-on-write file systems an overwrite does not reach
// every physical copy; the key directory belongs on an encrypted volume (docs/privacy.md).
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "gateway/anonymize/secret_key.h"

namespace footfall::gateway {

// A key, or one line naming the file and what is wrong with it.
using KeyResult = std::variant<SecretKey, std::string>;

class KeyStore {
 public:
  explicit KeyStore(std::filesystem::path dir);

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] std::filesystem::path file_of(std::uint32_t epoch) const;

  // Generates a key (RAND_priv_bytes) for an epoch that has none and writes it durably. Used where keys
  // are made: the tenant's key host, or a single-site tenant's own gateway.
  KeyResult create(std::uint32_t epoch) const;
  // Refuses a file that is not a regular file of exactly 32 bytes, or that group or others may read.
  [[nodiscard]] KeyResult load(std::uint32_t epoch) const;
  // Empty on success, else what failed. A missing file is success (already destroyed).
  [[nodiscard]] std::string destroy(std::uint32_t epoch) const;
  // Epochs with a key file, ascending. Other names in the directory are ignored.
  [[nodiscard]] std::vector<std::uint32_t> epochs() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace footfall::gateway
