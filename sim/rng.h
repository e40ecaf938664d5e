// Portable, serialisable random numbers: xoshiro256** seeded through splitmix64.
// Same seed -> same stream on every platform and standard library (unlike <random>'s
// distributions), and the whole state is four integers that get_state/set_state copy.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace darkmatter::sim {

using RngState = std::array<uint64_t, 4>;

class Rng {
 public:
  // Seeds the four state words from `seed` with splitmix64.
  explicit Rng(uint64_t seed = 0) { Seed(seed); }

  // Restarts the stream from `seed`.
  void Seed(uint64_t seed) {
    for (auto& word : state_) word = SplitMix64(&seed);
  }
  // Full generator state (for get_state).
  const RngState& State() const { return state_; }
  // Restores a state from State().
  void SetState(const RngState& state) { state_ = state; }

  // Next 64 random bits.
  uint64_t NextU64() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }
  // Uniform double in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }
  // Uniform double in [low, high).
  double Uniform(double low, double high) { return low + (high - low) * Uniform(); }
  // Standard normal sample (Box-Muller; two uniforms per call, no cached spare).
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Uniform integer in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : NextU64() % n; }

  // One splitmix64 step: advances *x and returns a well-mixed word (also a good hash).
  static uint64_t SplitMix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  RngState state_{};
};

// A seed for an independent stream derived from (seed, stream id), e.g. policy vs env.
inline uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
  return Rng::SplitMix64(&x);
}

}  // namespace darkmatter::sim
