// 64-bit FNV-1a hashing of raw bytes, used for trajectory hashes in determinism checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace darkmatter::sim {

// Incremental FNV-1a over the exact bytes (so -0.0 and 0.0, or NaN payloads, differ).
class Hasher {
 public:
  // Mixes `size` raw bytes into the hash.
  void Add(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash_ ^= bytes[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  // Mixes a span of trivially copyable values.
  template <typename T>
  void Add(std::span<const T> values) { Add(values.data(), values.size_bytes()); }
  // Mixes one trivially copyable value.
  template <typename T>
  void AddValue(const T& value) { Add(&value, sizeof(T)); }
  // Current hash value.
  uint64_t Value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace darkmatter::sim
