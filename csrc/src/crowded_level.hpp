// SPDX-License-Identifier: MIT
// fbsim (private): one level of SpatialHash's index re-gridded for one call, for levels whose
// cells are crowded (a wall of bricks under a cell size set by a baseplate, thousands of specks
// in one cell under an explicit cell size). The index sweeps each grid column along min x, which
// prunes nothing when the crowd shares one min x: every pair of the cell was tested (40k bricks
// of a wall: ~0.9 s for pairs(), output 160k pairs). Here the level's boxes are swept along
// the axis where their min corners spread most relative to their width, in columns of a grid
// on the two other axes whose side per axis fits the boxes' extent along it (all but the 64
// widest per axis, which are tested on their own): sweep and prune (Baraff 1992) over a
// uniform grid, as the index does, but with the axes and the cell sides chosen per call from
// the boxes themselves. O(n log n) to build (a radix sort of (column, min) keys), then near
// linear in the candidates. One grid serves one group of similar boxes: crowded_set.hpp splits
// a level into groups by size and shape, as one sweep axis and one column size cannot suit
// rods along three axes or plates among specks.
//
// Records keep their meaning with their lanes permuted: lane k holds the box's axis axis[k], so
// lane 0 is the sweep axis; record_test() treats the three lanes alike, so permuted records
// are tested against a permuted query exactly as the originals.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "cell_index.hpp"
#include "outward_float.hpp"
#include "pair_record.hpp"
#include "radix_sort.hpp"

namespace fbsim::detail::cells {

class CrowdedLevel {
  public:
    /// The boxes kept out of the grid per lane (tested against the whole group), so that a
    /// few baseplates sharing the group do not make the grid's cells as large as themselves.
    static constexpr std::size_t kWide = 64;

    /// Re-grids the run positions `live` (live entries, any subset of one level of the index:
    /// one group of crowded_set.hpp). `box_at(position)` gives the exact box at a run
    /// position. O(n log n), allocates O(n).
    template <class BoxAt>
    void build(const Run& m, const std::vector<std::uint32_t>& live, const BoxAt& box_at) {
        const std::size_t n = live.size();
        // The sweep axis: the largest spread of min corners (10th to 90th percentile, so an
        // outlier far away does not decide) per width (the 90th percentile of the extents
        // along it, so the few widest do not decide either). A sample of up to 1024 boxes,
        // taken at a fixed stride (deterministic).
        const std::size_t step = std::max<std::size_t>(1, n / 1024);
        double best = -1.0;
        int d = 0;
        for (int k = 0; k < 3; ++k) {
            std::vector<double> v, w;
            for (std::size_t i = 0; i < n; i += step) {
                const Aabb& b = box_at(live[i]);
                v.push_back(coord(b.min, k));
                w.push_back(coord(b.max, k) - coord(b.min, k));
            }
            if (v.empty()) break;
            const auto q10 = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 10);
            const auto q90 = v.begin() + static_cast<std::ptrdiff_t>(v.size() - 1 - v.size() / 10);
            std::nth_element(v.begin(), q10, v.end());
            const double a = *q10;
            std::nth_element(v.begin(), q90, v.end());
            const auto w90 = w.begin() + static_cast<std::ptrdiff_t>(w.size() - 1 - w.size() / 10);
            std::nth_element(w.begin(), w90, w.end());
            const double score = (*q90 - a) / (*w90 + 1e-9);
            if (score > best) {
                best = score;
                d = k;
            }
        }
        axis_[0] = d;
        axis_[1] = d == 0 ? 1 : 0;
        axis_[2] = d == 2 ? 1 : 2;
        // Cell side per lane (1 and 2): the narrow boxes' extent along it, all but the kWide
        // largest (ties stay narrow), so a narrow box reaches at most the next cell up on each
        // lane (a bundle of rods keeps columns as thin as the rods across them). The relative
        // slack absorbs the rounding of v / side (|v / side| <= 1e9, relative error 2^-53, as
        // the index's own grid); at least 2^-10, so +-kMaxCoordinate stays within int32
        // cells. Larger cells are only slower, never wrong.
        std::vector<double> ext[2];
        ext[0].resize(n);
        ext[1].resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            const Aabb& b = box_at(live[i]);
            ext[0][i] = coord(b.max, axis_[1]) - coord(b.min, axis_[1]);
            ext[1][i] = coord(b.max, axis_[2]) - coord(b.min, axis_[2]);
        }
        for (int k = 0; k < 2; ++k) {
            cut_[k] = wide_cut(ext[k]);
            side_[k] = std::max(cut_[k], 1.0 / 1024.0) * (1.0 + kSlack);
        }

        // Narrow boxes by (column, min along the sweep axis), as (key, index) pairs: one radix
        // sort of a 64-bit key when the columns' span fits 32 bits (always, short of cells
        // spread over more than 65536 per axis), else two stable passes (minor key first).
        struct Item {
            std::uint64_t col;
            std::uint32_t lo0, at;  // biased min along the sweep axis, index into live
        };
        std::vector<Item> items;
        items.reserve(n);
        wide_.clear();
        std::uint64_t cmin = ~std::uint64_t{0}, cmax = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (ext[0][i] > cut_[0] || ext[1][i] > cut_[1]) {
                wide_.push_back(permute(m.rec[live[i]]));
                continue;
            }
            const std::uint64_t c = column_of(box_at(live[i]));
            cmin = std::min(cmin, c);
            cmax = std::max(cmax, c);
            const std::int32_t lo0 = m.rec[live[i]].lo[axis_[0]];
            items.push_back(Item{c, static_cast<std::uint32_t>(lo0) ^ 0x80000000u, static_cast<std::uint32_t>(i)});
        }
        std::uint64_t emin = ~std::uint64_t{0}, emax = 0;
        for (const Item& it : items) {
            emin = std::min(emin, it.col & 0xFFFFFFFFu);
            emax = std::max(emax, it.col & 0xFFFFFFFFu);
        }
        const std::uint64_t fmin = cmin >> 32, espan = items.empty() ? 0 : emax - emin;
        int ebits = 0;
        while (ebits < 33 && (espan >> ebits) != 0) ++ebits;
        const std::uint64_t fspan = items.empty() ? 0 : (cmax >> 32) - fmin;
        int fbits = 0;
        while (fbits < 33 && (fspan >> fbits) != 0) ++fbits;
        if (ebits + fbits <= 32) {
            detail::radix_sort(items, [&](const Item& it) {
                const std::uint64_t c = (((it.col >> 32) - fmin) << ebits) | ((it.col & 0xFFFFFFFFu) - emin);
                return (c << 32) | it.lo0;
            });
        } else {
            detail::radix_sort(items, [](const Item& it) { return std::uint64_t{it.lo0}; });
            detail::radix_sort(items, [](const Item& it) { return it.col; });
        }
        rec_.resize(items.size());
        cols_.clear();
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::size_t j = items[i].at;
            rec_[i] = permute(m.rec[live[j]]);
            if (cols_.empty() || cols_.back().key != items[i].col)
                cols_.push_back(Column{items[i].col, static_cast<std::uint32_t>(i), 0, 0.0});
            cols_.back().end = static_cast<std::uint32_t>(i + 1);
            const Aabb& b = box_at(live[j]);
            cols_.back().reach = std::max(cols_.back().reach, coord(b.max, axis_[0]) - coord(b.min, axis_[0]));
        }
    }

    /// A record with its lanes in this level's order.
    PairRecord permute(const PairRecord& r) const noexcept {
        PairRecord p = r;
        for (int k = 0; k < 3; ++k) {
            p.lo[k] = r.lo[axis_[k]];
            p.nhi[k] = r.nhi[axis_[k]];
        }
        return p;
    }

    /// Every pair of the level whose float bounds overlap, each once: `visit(a, b, t)` with
    /// the permuted records and record_test()'s t (1 or 2). `stop()` is asked before each
    /// box's scan; true ends the pass (the result cap: at most one box's pairs overshoot).
    template <class Visit, class Stop>
    void pairs(const Visit& visit, const Stop& stop) const {
        const PairRecord* R = rec_.data();
        // Record i against [k, e) while their min along the sweep axis is within i's max.
        const auto scan = [&](std::size_t i, std::size_t k, std::size_t e) {
            const PairQuery q(R[i]);
            for (; k < e && R[k].lo[0] <= q.hi[0]; ++k) {
                const int t = record_test(q, R[k]);
                if (t != 0) visit(R[i], R[k], t);
            }
        };
        // Two columns, both sorted along the sweep axis: the entry with the smaller min scans
        // the other from its cursor (ties: column a), so each pair is met once.
        const auto cross = [&](const Column& a, const Column& b) {
            std::size_t i = a.begin, j = b.begin;
            while (i < a.end && j < b.end && !stop()) {
                if (R[i].lo[0] <= R[j].lo[0]) scan(i++, j, b.end);
                else scan(j++, i, a.end);
            }
        };
        std::size_t p = 0;  // first column at or after (f + 1, e - 1): only moves forward
        for (std::size_t c = 0; c < cols_.size(); ++c) {
            if (stop()) return;
            const Column& a = cols_[c];
            for (std::size_t i = a.begin; i < a.end; ++i) {
                if (stop()) return;
                scan(i, i + 1, a.end);
            }
            if (c + 1 < cols_.size() && cols_[c + 1].key == a.key + 1) cross(a, cols_[c + 1]);
            const std::uint64_t up = a.key + (std::uint64_t{1} << 32);
            while (p < cols_.size() && cols_[p].key < up - 1) ++p;
            for (std::size_t k = p; k < cols_.size() && cols_[k].key <= up + 1; ++k) cross(a, cols_[k]);
        }
        // The wide boxes against everything after them (narrow ones all come after).
        for (std::size_t i = 0; i < wide_.size(); ++i) {
            if (stop()) return;
            const PairQuery q(wide_[i]);
            for (std::size_t k = i + 1; k < wide_.size(); ++k) {
                const int t = record_test(q, wide_[k]);
                if (t != 0) visit(wide_[i], wide_[k], t);
            }
            for (const PairRecord& r : rec_) {
                const int t = record_test(q, r);
                if (t != 0) visit(wide_[i], r, t);
            }
        }
    }

    /// The spans of permuted records that can overlap box `a` (any box: of this group, of
    /// another group of the level, or a query): `span(first, last)` per span. The wide boxes,
    /// then per occupied column whose cells can reach a (lanes 1 and 2: from a's min cell - 1,
    /// as a narrow box reaches at most the next cell, to a's max cell) the window of min
    /// corners along the sweep axis that can reach a. O((columns covered) x log n + span
    /// lengths); a query larger than the grid costs at most O(occupied columns x log n).
    template <class Span>
    void spans(const Aabb& a, const Span& span) const {
        const PairRecord* R = rec_.data();
        if (!wide_.empty()) span(wide_.data(), wide_.data() + wide_.size());
        if (rec_.empty()) return;
        const std::int64_t e0 = query_cell(coord(a.min, axis_[1]), side_[0]) - 1;
        const std::int64_t e1 = query_cell(coord(a.max, axis_[1]), side_[0]);
        const std::int64_t f0 = query_cell(coord(a.min, axis_[2]), side_[1]) - 1;
        const std::int64_t f1 = query_cell(coord(a.max, axis_[2]), side_[1]);
        // A column's boxes are at most its reach wide along the sweep axis, so only those with
        // min >= a.min - reach can reach a; padded past the subtraction's rounding (|v| <= 1e6:
        // ulp < 2.4e-10) and rounded down to float, so the bound is safe.
        const double amin = coord(a.min, axis_[0]);
        const std::int32_t to = order_up(coord(a.max, axis_[0]));
        // The occupied columns of rows f0..f1 within e0..e1, walked in key order: a column
        // outside e0..e1 jumps (binary search) to the next row's e0, so a query far larger than
        // the grid costs O(occupied columns x log n), never a loop over empty cells.
        const std::uint64_t be0 = bias(e0), be1 = bias(e1);
        const auto seek = [&](std::vector<Column>::const_iterator from, std::uint64_t key) {
            return std::lower_bound(from, cols_.end(), key, [](const Column& col, std::uint64_t k) { return col.key < k; });
        };
        const std::uint64_t last = (bias(f1) << 32) | be1;
        for (auto it = seek(cols_.begin(), (bias(f0) << 32) | be0); it != cols_.end() && it->key <= last;) {
            const std::uint64_t e = it->key & 0xFFFFFFFFu, f = it->key >> 32;
            if (e < be0) {
                it = seek(it, (f << 32) | be0);
                continue;
            }
            if (e > be1) {
                it = seek(it, ((f + 1) << 32) | be0);
                continue;
            }
            const std::int32_t from = order_down(amin - (it->reach * (1.0 + 1e-9) + 1e-6));
            const PairRecord* b = std::partition_point(R + it->begin, R + it->end,
                                                       [from](const PairRecord& r) { return r.lo[0] < from; });
            const PairRecord* end = b;
            while (end < R + it->end && end->lo[0] <= to) ++end;
            if (b != end) span(b, end);
            ++it;
        }
    }

    /// Boxes re-gridded (narrow and wide).
    std::size_t size() const noexcept { return rec_.size() + wide_.size(); }

  private:
    // The (kWide + 1)-th largest of v (its largest when it has at most kWide): the largest
    // extent that stays narrow. A min-heap of the kWide + 1 largest seen, O(n log kWide), most
    // values failing the one compare against its top (an nth_element copied v: 3x slower).
    static double wide_cut(const std::vector<double>& v) {
        if (v.size() <= kWide) return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
        std::vector<double> top(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(kWide + 1));
        std::make_heap(top.begin(), top.end(), std::greater<>());
        for (std::size_t i = kWide + 1; i < v.size(); ++i) {
            if (v[i] <= top.front()) continue;
            std::pop_heap(top.begin(), top.end(), std::greater<>());
            top.back() = v[i];
            std::push_heap(top.begin(), top.end(), std::greater<>());
        }
        return top.front();
    }

    struct Column {
        std::uint64_t key;  // biased cell on lane 2 << 32 | biased cell on lane 1
        std::uint32_t begin, end;
        double reach;  // the widest of its boxes along the sweep axis
    };
    static double coord(const Vec3& v, int k) noexcept { return k == 0 ? v.x : (k == 1 ? v.y : v.z); }
    std::uint64_t column_of(const Aabb& b) const noexcept {
        const std::int64_t e = cell_of(coord(b.min, axis_[1]), side_[0]);
        const std::int64_t f = cell_of(coord(b.min, axis_[2]), side_[1]);
        return (bias(f) << 32) | bias(e);
    }
    // A query's cell on one lane, clamped: a query may reach far past the world (a sphere of
    // radius 1e6 over cells of 2^-10), where no stored box lives (|cell| < 1.1e9 < 2^30), and
    // the clamp keeps cell +- 1 inside its 32-bit field of the column key.
    static std::int64_t query_cell(double v, double side) noexcept {
        constexpr double kLim = 1073741824.0;  // 2^30
        return static_cast<std::int64_t>(std::clamp(std::floor(v / side), -kLim, kLim));
    }

    int axis_[3] = {0, 1, 2};
    double cut_[2] = {0.0, 0.0};   // the narrow boxes' largest extent on lanes 1 and 2
    double side_[2] = {1.0, 1.0};  // the grid's cell side on lanes 1 and 2
    std::vector<PairRecord> rec_;  // narrow boxes by (column, lo[0])
    std::vector<Column> cols_;
    std::vector<PairRecord> wide_;
};

}  // namespace fbsim::detail::cells
