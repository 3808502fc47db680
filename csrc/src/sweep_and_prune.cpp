// SPDX-License-Identifier: MIT
// fbsim: sweep and prune on one axis (Baraff, "Dynamic simulation of non-penetrating rigid
// bodies", PhD thesis, Cornell 1992, ch. 4; Cohen et al., "I-COLLIDE", 1995). Boxes are kept
// sorted by their lower endpoint on the axis; between ticks boxes move a little, so insertion
// sort restores the order in O(n + swaps). A swap budget bounds the work: past it we fall back
// to std::sort (O(n log n)), so a teleporting crowd cannot make a tick quadratic.
#include <algorithm>
#include <cmath>
#include <limits>

#include "fbsim/broadphase.hpp"
#include "grow.hpp"

namespace fbsim {

namespace {
inline double axis_of(const Vec3& v, int axis) noexcept {
    return axis == 0 ? v.x : (axis == 1 ? v.y : v.z);
}
// Non-short-circuit `&`: six compares and one well-predicted branch (most tests fail), rather
// than six branches that mispredict on random data.
inline bool overlaps(const Aabb& a, const Aabb& b) noexcept {
    return (a.min.x <= b.max.x) & (b.min.x <= a.max.x) & (a.min.y <= b.max.y) &
           (b.min.y <= a.max.y) & (a.min.z <= b.max.z) & (b.min.z <= a.max.z);
}
}  // namespace

SweepAndPrune::SweepAndPrune(int axis) : axis_(axis >= 0 && axis <= 2 ? axis : 0) {}
SweepAndPrune::~SweepAndPrune() = default;

void SweepAndPrune::resort() {
    // Insertion sort by (lo, slot): a total order, so the result is deterministic.
    const auto less = [](const Entry& a, const Entry& b) {
        return a.lo < b.lo || (a.lo == b.lo && a.slot < b.slot);
    };
    const std::size_t n = sorted_.size();
    std::size_t budget = 8 * n + 1024, moves = 0;
    bool done = true;
    for (std::size_t i = 1; i < n && done; ++i) {
        Entry e = sorted_[i];
        std::size_t j = i;
        while (j > 0 && less(e, sorted_[j - 1])) {
            sorted_[j] = sorted_[j - 1];
            --j;
            if (++moves > budget) break;
        }
        sorted_[j] = e;
        if (moves > budget) done = false;  // the array is still a permutation: just sort it
    }
    if (!done) std::sort(sorted_.begin(), sorted_.end(), less);
    double ext = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        where_[sorted_[i].slot] = static_cast<std::uint32_t>(i);
        ext = std::max(ext, sorted_[i].hi - sorted_[i].lo);
    }
    max_extent_ = ext;
}

void SweepAndPrune::on_insert(const std::uint32_t* slots, std::size_t count) {
    if (slot_capacity() > where_.size()) {
        detail::grow(where_, slot_capacity());  // resize() alone would double the capacity
        where_.resize(slot_capacity(), 0);
    }
    const std::size_t old = sorted_.size();
    detail::grow(sorted_, old + count);
    for (std::size_t i = 0; i < count; ++i) {
        const Aabb& b = box(slots[i]);
        sorted_.push_back(Entry{axis_of(b.min, axis_), axis_of(b.max, axis_), slots[i]});
    }
    const auto less = [](const Entry& a, const Entry& b) {
        return a.lo < b.lo || (a.lo == b.lo && a.slot < b.slot);
    };
    // Sort the new tail and merge: O(k log k + n) instead of insertion-sorting k far moves.
    std::sort(sorted_.begin() + static_cast<std::ptrdiff_t>(old), sorted_.end(), less);
    std::inplace_merge(sorted_.begin(), sorted_.begin() + static_cast<std::ptrdiff_t>(old),
                       sorted_.end(), less);
    double ext = max_extent_;
    for (std::size_t i = 0; i < sorted_.size(); ++i) {
        where_[sorted_[i].slot] = static_cast<std::uint32_t>(i);
        ext = std::max(ext, sorted_[i].hi - sorted_[i].lo);
    }
    max_extent_ = ext;
}

void SweepAndPrune::on_update(const std::uint32_t* slots, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        Entry& e = sorted_[where_[slots[i]]];
        const Aabb& b = box(slots[i]);
        e.lo = axis_of(b.min, axis_);
        e.hi = axis_of(b.max, axis_);
    }
    resort();
}

void SweepAndPrune::on_remove(const std::uint32_t* slots, std::size_t count) {
    const std::uint32_t kGone = std::numeric_limits<std::uint32_t>::max();
    for (std::size_t i = 0; i < count; ++i) sorted_[where_[slots[i]]].slot = kGone;
    sorted_.erase(std::remove_if(sorted_.begin(), sorted_.end(),
                                 [&](const Entry& e) { return e.slot == kGone; }),
                  sorted_.end());
    double ext = 0.0;
    for (std::size_t i = 0; i < sorted_.size(); ++i) {
        where_[sorted_[i].slot] = static_cast<std::uint32_t>(i);
        ext = std::max(ext, sorted_[i].hi - sorted_[i].lo);
    }
    max_extent_ = ext;
}

void SweepAndPrune::candidates(const Aabb& q, std::vector<std::uint32_t>& out) const {
    const double qlo = axis_of(q.min, axis_), qhi = axis_of(q.max, axis_);
    // Any overlapping box has lo >= qlo - max_extent_; step one ulp down for the rounding.
    const double from = std::nextafter(qlo - max_extent_, -std::numeric_limits<double>::infinity());
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), from,
                               [](const Entry& e, double v) { return e.lo < v; });
    for (; it != sorted_.end() && it->lo <= qhi; ++it) {
        if (it->hi >= qlo) out.push_back(it->slot);
    }
}

void SweepAndPrune::candidate_pairs(std::vector<std::uint32_t>& out) const {
    const std::size_t n = sorted_.size();
    for (std::size_t i = 0; i < n; ++i) {
        const double hi = sorted_[i].hi;
        const Aabb& a = box(sorted_[i].slot);
        for (std::size_t j = i + 1; j < n && sorted_[j].lo <= hi; ++j) {
            // Filter exactly here: a one-axis sweep can see many more interval overlaps than
            // box overlaps, and those must not be materialised.
            if (overlaps(a, box(sorted_[j].slot))) {
                out.push_back(sorted_[i].slot);
                out.push_back(sorted_[j].slot);
                if (out.size() / 2 > max_results()) return;  // the caller reports the limit
            }
        }
    }
}

std::size_t SweepAndPrune::index_memory_bytes() const noexcept {
    return sorted_.capacity() * sizeof(Entry) + where_.capacity() * sizeof(std::uint32_t);
}

bool SweepAndPrune::check_invariants() const {
    if (sorted_.size() != size()) return false;
    for (std::size_t i = 0; i < sorted_.size(); ++i) {
        const Entry& e = sorted_[i];
        if (!alive(e.slot) || where_[e.slot] != i) return false;
        if (e.lo != axis_of(box(e.slot).min, axis_) || e.hi != axis_of(box(e.slot).max, axis_))
            return false;
        if (e.hi - e.lo > max_extent_) return false;
        if (i > 0 && (sorted_[i - 1].lo > e.lo)) return false;
    }
    return true;
}

}  // namespace fbsim
