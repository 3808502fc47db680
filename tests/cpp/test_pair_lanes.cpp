// SPDX-License-Identifier: MIT
// SpatialHash::pairs()'s dense lane pass in each kernel (private pair_lanes.hpp switch: scalar,
// SSE2, AVX2; a kernel the build or CPU lacks runs the next narrower one) against brute force:
// random similar boxes at several densities, a touching unit lattice (every contact on a cell
// boundary), cells of up to 32 boxes, and boxes inserted after the id ranks were built.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "check.hpp"
#include "fbsim/broadphase.hpp"
#include "pair_lanes.hpp"
#include "simd_level.hpp"

using namespace fbsim;

namespace {

struct Scene {
    std::vector<std::int64_t> ids;
    std::vector<double> lo, hi;  // n x 3, row-major
    void add(std::int64_t id, const double l[3], const double h[3]) {
        ids.push_back(id);
        lo.insert(lo.end(), l, l + 3);
        hi.insert(hi.end(), h, h + 3);
    }
};

// All overlapping (touching counts) pairs as rows (smaller id first), rows ascending: O(n^2).
std::vector<std::int64_t> brute(const Scene& s) {
    std::vector<std::pair<std::int64_t, std::int64_t>> rows;
    const std::size_t n = s.ids.size();
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) {
            bool hit = true;
            for (int d = 0; d < 3; ++d)
                hit = hit && s.lo[3 * i + d] <= s.hi[3 * j + d] && s.lo[3 * j + d] <= s.hi[3 * i + d];
            if (hit) rows.emplace_back(std::min(s.ids[i], s.ids[j]), std::max(s.ids[i], s.ids[j]));
        }
    std::sort(rows.begin(), rows.end());
    std::vector<std::int64_t> flat;
    for (const auto& r : rows) {
        flat.push_back(r.first);
        flat.push_back(r.second);
    }
    return flat;
}

Scene random_scene(std::uint64_t seed, std::size_t n, double overlaps, double origin) {
    std::mt19937_64 rng(seed);
    const double side = 2.5 * std::cbrt(double(n) / overlaps);
    std::uniform_real_distribution<double> pos(origin, origin + side), half(0.25, 1.0);
    Scene s;
    for (std::size_t i = 0; i < n; ++i) {
        double l[3], h[3];
        for (int d = 0; d < 3; ++d) {
            const double c = pos(rng), e = half(rng);
            l[d] = c - e;
            h[d] = c + e;
        }
        s.add(static_cast<std::int64_t>(n - i) * 5 - 77, l, h);
    }
    return s;
}

// Every kernel on `s` (under `cell`), each against brute force; then, when `late` > 0, that
// many more boxes inserted after the ranks were built (no rank yet), merged, and checked again.
void check_all_kernels(const Scene& s, double cell, std::size_t late = 0) {
    const std::vector<std::int64_t> want = brute(s);
    for (const auto isa : {SimdLevel::kScalar, SimdLevel::kSse2, SimdLevel::kAvx2}) {
        force_simd_level(isa);
        SpatialHash h(cell);
        const std::size_t first = s.ids.size() - late;
        CHECK(h.insert(s.ids.data(), s.lo.data(), s.hi.data(), first).ok());
        std::vector<std::int64_t> got;
        if (late > 0) {
            CHECK(h.pairs(got));  // the ranks of the first boxes are built here
            got.clear();
            CHECK(h.insert(s.ids.data() + first, s.lo.data() + 3 * first, s.hi.data() + 3 * first, late).ok());
            h.set_buffer_cap(0);  // merged into the main index, still unranked
        }
        CHECK(h.pairs(got));
        CHECK(got == want);
    }
    force_simd_level(SimdLevel::kAuto);
}

void test_random_scenes() {
    for (const double overlaps : {0.5, 3.0, 12.0})
        for (const std::size_t n : {std::size_t{64}, std::size_t{700}, std::size_t{2500}})
            check_all_kernels(random_scene(n * 31 + static_cast<std::uint64_t>(overlaps * 10), n, overlaps, -20.0),
                              0.0);
    check_all_kernels(random_scene(5, 2000, 3.0, 99'950.0), 0.0);
    check_all_kernels(random_scene(6, 2500, 3.0, 0.0), 0.0, 300);
}

void test_touching_lattice() {
    Scene s;
    for (int x = 0; x < 6; ++x)
        for (int y = 0; y < 6; ++y)
            for (int z = 0; z < 6; ++z) {
                const double l[3] = {double(x), double(y), double(z)}, h[3] = {x + 1.0, y + 1.0, z + 1.0};
                s.add(x * 100 + y * 10 + z, l, h);
            }
    check_all_kernels(s, 1.0);
}

void test_full_cells() {
    // 32 boxes in each of 4 x 4 x 4 cells of side 2: blocks of 64 own boxes, slices of many
    // chunks.
    std::mt19937_64 rng(9);
    std::uniform_real_distribution<double> off(0.0, 2.0), half(0.05, 0.9);
    Scene s;
    std::int64_t id = 0;
    for (int c = 0; c < 64; ++c)
        for (int k = 0; k < 32; ++k) {
            double l[3], h[3];
            const int cc[3] = {c % 4, (c / 4) % 4, c / 16};
            for (int d = 0; d < 3; ++d) {
                const double m = 2.0 * cc[d] + off(rng), e = half(rng);
                l[d] = m - e;
                h[d] = m + e;
            }
            s.add(id++, l, h);
        }
    check_all_kernels(s, 2.0);
}

}  // namespace

int main() {
    test_random_scenes();
    test_touching_lattice();
    test_full_cells();
    TEST_MAIN_END();
}
