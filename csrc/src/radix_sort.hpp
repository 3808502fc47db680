// SPDX-License-Identifier: MIT
// fbsim (private): stable LSD radix sort by a 64-bit key (Knuth vol. 3, 5.2.5), skipping the
// 11-bit digits in which all keys agree. Ids and cell keys rarely use more than 20-40 bits,
// so a sort is usually 2-4 counting passes instead of n log n comparisons.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fbsim::detail {

/// Sorts `v` stably by key(v[i]) (std::uint64_t). O(passes * (n + 2048)); allocates one
/// scratch copy of v.
template <class T, class KeyFn>
void radix_sort(std::vector<T>& v, KeyFn key) {
    const std::size_t n = v.size();
    if (n < 2) return;
    std::uint64_t all_and = ~std::uint64_t{0}, all_or = 0;
    for (const T& x : v) {
        const std::uint64_t k = key(x);
        all_and &= k;
        all_or |= k;
    }
    const std::uint64_t varying = all_and ^ all_or;
    if (varying == 0) return;
    std::vector<T> tmp(n);
    std::vector<std::size_t> count(2049);
    for (int shift = 0; shift < 64; shift += 11) {
        if (((varying >> shift) & 0x7FF) == 0) continue;
        std::fill(count.begin(), count.end(), 0);
        for (const T& x : v) ++count[((key(x) >> shift) & 0x7FF) + 1];
        for (std::size_t d = 1; d < count.size(); ++d) count[d] += count[d - 1];
        for (const T& x : v) tmp[count[(key(x) >> shift) & 0x7FF]++] = x;
        v.swap(tmp);
    }
}

}  // namespace fbsim::detail
