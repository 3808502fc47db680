// SPDX-License-Identifier: MIT
// fbsim (private): a crowded level of SpatialHash's index re-gridded for one call as several
// groups, each its own CrowdedLevel (crowded_level.hpp). One grid for the whole level picks one
// sweep axis and one column size, which a client can defeat on purpose: 65 plates of cell size
// among 90k specks make the columns as large as the plates (review: 474 ms vs DynamicTree's 13
// for pairs()), and bundles of thin rods along all three axes leave one bundle swept along its
// length (199 ms vs 5). So the boxes are first split into size classes (the boxes whose largest
// side is at most 4x the remaining boxes' median, repeatedly: each class takes at least half of
// what remains, so there are at most log2(n) + 1), and each size class into shape classes (rods
// along x, y or z; plates thin along x, y or z; the rest), at most 7 per size class. Each group
// picks its own sweep axis and column sides. Pairs inside a group come from its own sweep;
// pairs across two groups from the boxes of one asking the grid of the other, the side that
// asks less (a fine box covers a few coarse columns; a few coarse boxes each scan the fine
// grid). The same split as the level hierarchy itself (Mirtich 1997), one level down.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cell_index.hpp"
#include "crowded_level.hpp"
#include "pair_record.hpp"

namespace fbsim::detail::cells {

class CrowdedSet {
  public:
    /// Re-grids the live entries of run positions [begin, end) (one level). `box(slot)` gives
    /// a slot's exact box. O(n log n) (a few O(n) passes per size class), allocates O(n).
    template <class BoxFn>
    void build(const Run& m, std::size_t begin, std::size_t end, const BoxFn& box) {
        std::vector<std::uint32_t> rest;
        rest.reserve(end - begin);
        for (std::size_t j = begin; j < end; ++j)
            if (!m.dead(j)) rest.push_back(static_cast<std::uint32_t>(j));
        groups_.clear();
        const auto box_at = [&](std::uint32_t p) -> const Aabb& { return box(m.slot(p)); };
        std::vector<std::vector<std::uint32_t>> members;  // per group: run positions
        std::vector<double> s(rest.size());
        for (std::size_t i = 0; i < rest.size(); ++i) s[i] = largest_side(box_at(rest[i]));
        // Bounded: each round takes at least half of what remains (the limit is 4x the median
        // of a fixed-stride sample of at most 1024 sides, or of all of them when that sample's
        // would take less than half), so there are at most log2(n) + 1 rounds.
        while (!rest.empty()) {
            std::vector<double> t;
            const std::size_t step = std::max<std::size_t>(1, s.size() / 1024);
            for (std::size_t i = 0; i < s.size(); i += step) t.push_back(s[i]);
            double limit = 4.0 * median_of(t);
            if (2 * static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [&](double v) { return v <= limit; })) <
                s.size()) {
                t = s;
                limit = 4.0 * median_of(t);
            }
            std::vector<std::uint32_t> cls, next;
            std::vector<double> next_s;
            for (std::size_t i = 0; i < rest.size(); ++i) {
                // The last few hundred stay one class (mixed sizes: each group costs every
                // other one a query per box, so tiny ones are not worth a grid of their own).
                if (s[i] <= limit || rest.size() < 2 * kMinGroup) {
                    cls.push_back(rest[i]);
                } else {
                    next.push_back(rest[i]);
                    next_s.push_back(s[i]);
                }
            }
            // A few larger ones stay in this class as its grids' wide boxes.
            if (next.size() <= CrowdedLevel::kWide) {
                cls.insert(cls.end(), next.begin(), next.end());
                next.clear();
                next_s.clear();
            }
            std::array<std::vector<std::uint32_t>, 7> shape;
            for (const std::uint32_t p : cls) shape[shape_of(box_at(p))].push_back(p);
            // A shape with few boxes (under kMinGroup, or 1/16 of the class) joins the class's
            // "rest" group (6), so a class has at most 7 groups of real weight: a crafted mix of
            // many small shape x size groups would otherwise cost O(n x groups) queries.
            const std::size_t least = std::max(kMinGroup, cls.size() / 16);
            for (int k = 0; k < 6; ++k) {
                if (shape[k].empty() || shape[k].size() >= least) continue;
                shape[6].insert(shape[6].end(), shape[k].begin(), shape[k].end());
                shape[k].clear();
            }
            std::sort(shape[6].begin(), shape[6].end());  // index order (the grids read in it)
            for (std::vector<std::uint32_t>& g : shape)
                if (!g.empty()) members.push_back(std::move(g));
            rest.swap(next);
            s.swap(next_s);
        }
        groups_.resize(members.size());
        for (std::size_t k = 0; k < members.size(); ++k) {
            Group& G = groups_[k];
            G.grid.build(m, members[k], box_at);
            if (members.size() == 1) break;  // no other group to ask or be asked
            // For the pairs across groups: the records as in the index, and a size for the
            // cost estimate of who asks.
            G.own.reserve(members[k].size());
            std::vector<double> gs(members[k].size());
            for (std::size_t i = 0; i < members[k].size(); ++i) {
                G.own.push_back(m.rec[members[k][i]]);
                gs[i] = largest_side(box_at(members[k][i]));
            }
            G.scale = median_of(gs);
        }
    }

    /// Every pair of the level whose float bounds overlap, each once: `visit(a, b, t)` with
    /// records whose lanes are permuted alike and record_test()'s t (1 or 2). `stop()` is asked
    /// before each box's scan; true ends the pass (at most one box's pairs overshoot).
    template <class BoxFn, class Visit, class Stop>
    void pairs(const BoxFn& box, const Visit& visit, const Stop& stop) const {
        for (const Group& g : groups_) {
            if (stop()) return;
            g.grid.pairs(visit, stop);
        }
        for (std::size_t i = 0; i < groups_.size(); ++i)
            for (std::size_t j = i + 1; j < groups_.size(); ++j) {
                const bool i_asks = ask_cost(groups_[i], groups_[j]) <= ask_cost(groups_[j], groups_[i]);
                const Group& asker = groups_[i_asks ? i : j];
                const Group& asked = groups_[i_asks ? j : i];
                for (const PairRecord& r : asker.own) {
                    if (stop()) return;
                    const PairRecord rp = asked.grid.permute(r);
                    const PairQuery q(rp);
                    asked.grid.spans(box(r.slot()), [&](const PairRecord* b, const PairRecord* e) {
                        for (; b < e; ++b) {
                            const int t = record_test(q, *b);
                            if (t != 0) visit(rp, *b, t);
                        }
                    });
                }
            }
    }

    /// The spans of records that can overlap box `a` (record `r`, unpermuted; a box of this
    /// level or any query box): `span(q, first, last)` with q the query of r permuted as the
    /// span's records. O(groups x (columns covered x log n)) + span lengths.
    template <class Span>
    void spans(const PairRecord& r, const Aabb& a, const Span& span) const {
        for (const Group& g : groups_) {
            const PairQuery q(g.grid.permute(r));
            g.grid.spans(a, [&](const PairRecord* b, const PairRecord* e) { span(q, b, e); });
        }
    }

    /// Slots of the boxes whose float bounds overlap r's (box `a`, as for spans()), appended
    /// to `out`: the candidates of a search, for the caller's exact test.
    void candidates(const PairRecord& r, const Aabb& a, std::vector<std::uint32_t>& out) const {
        spans(r, a, [&](const PairQuery& q, const PairRecord* b, const PairRecord* e) {
            for (; b < e; ++b)
                if (record_overlaps(q, *b)) out.push_back(b->slot());
        });
    }

    /// Fewest boxes of a shape group of its own (fewer join their size class's rest group),
    /// and of a size class split off the boxes that remain.
    static constexpr std::size_t kMinGroup = 256;

    /// Groups built (for tests and tuning).
    std::size_t groups() const noexcept { return groups_.size(); }

  private:
    // The median of v (reorders v). O(n).
    static double median_of(std::vector<double>& v) {
        const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
        std::nth_element(v.begin(), mid, v.end());
        return *mid;
    }

    struct Group {
        CrowdedLevel grid;
        std::vector<PairRecord> own;  // its records as in the index (unpermuted), any order
        double scale = 0.0;           // the median largest side
    };

    // 0-2: a rod along that axis (longest extent > 8x the middle one); 3-5: a plate thin along
    // that axis (middle extent > 8x the shortest); 6: the rest. Points and cubes are 6.
    static int shape_of(const Aabb& b) noexcept {
        const double w[3] = {b.max.x - b.min.x, b.max.y - b.min.y, b.max.z - b.min.z};
        int hi = 0, lo = 0;
        for (int k = 1; k < 3; ++k) {
            if (w[k] > w[hi]) hi = k;
            if (w[k] < w[lo]) lo = k;
        }
        if (hi == lo) return 6;
        const int mid = 3 - hi - lo;
        if (w[hi] > 8.0 * w[mid]) return hi;
        if (w[mid] > 8.0 * w[lo]) return 3 + lo;
        return 6;
    }

    // Estimated record tests for group a's boxes asking group b's grid: each query looks up
    // the columns its box covers (~32 record tests each, a binary search), at most a scan of
    // b whole.
    static double ask_cost(const Group& a, const Group& b) noexcept {
        const double ratio = b.scale > 0.0 ? a.scale / b.scale : 1e9;
        const double cover = std::min(1e12, (ratio + 2.0) * (ratio + 2.0));
        return double(a.own.size()) * std::min(double(b.own.size()) + 1.0, 32.0 * cover);
    }

    std::vector<Group> groups_;
};

}  // namespace fbsim::detail::cells
