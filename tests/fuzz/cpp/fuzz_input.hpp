// SPDX-License-Identifier: MIT
// Byte-stream decoder shared by the libFuzzer harnesses: turns fuzz bytes into small ints and
// doubles biased towards the values that break geometry code (NaN, inf, denormals, huge, exact
// ties), so coverage reaches the kernels instead of stopping at the first validation check.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

namespace fuzz {

class Input {
  public:
    Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    bool done() const { return pos_ >= size_; }

    std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }

    /// Uniform-ish integer in [0, n); 0 when n == 0.
    std::size_t below(std::size_t n) { return n ? byte() % n : 0; }

    /// A double: mostly small grid values (ties, touching contacts), sometimes a special value,
    /// sometimes 8 raw bytes (any bit pattern).
    double value() {
        static const double kSpecial[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e-9, 5e-324, 2.2e-308,
                                          1e5, -1e5, 1e6, 1e6 + 1, 1e300,
                                          std::numeric_limits<double>::quiet_NaN(),
                                          std::numeric_limits<double>::infinity(),
                                          -std::numeric_limits<double>::infinity(), 1e-3, 2.0};
        const std::uint8_t b = byte();
        if (b < 160) return (static_cast<int>(b) - 80) / 8.0;  // grid of 1/8 studs in [-10, 10)
        if (b < 240) return kSpecial[b % (sizeof(kSpecial) / sizeof(kSpecial[0]))];
        double d = 0.0;
        std::uint8_t raw[8] = {};
        for (auto& r : raw) r = byte();
        std::memcpy(&d, raw, sizeof d);
        return d;
    }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

/// A finding: print and abort so libFuzzer records the input (as a crash would be recorded).
[[noreturn]] inline void fail(const char* what) {
    std::fflush(stdout);
    std::fprintf(stderr, "FUZZ FINDING: %s\n", what);
    __builtin_trap();
}

}  // namespace fuzz
