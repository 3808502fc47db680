// SPDX-License-Identifier: MIT
// Broad phase without Python: analytic cases, atomic batches, and agreement with brute force
// after churn, for all three structures through the common Broadphase interface.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "check.hpp"
#include "fbsim/broadphase.hpp"

using namespace fbsim;

namespace {

std::vector<std::unique_ptr<Broadphase>> all_kinds() {
    std::vector<std::unique_ptr<Broadphase>> v;
    v.push_back(std::make_unique<SpatialHash>(0.0));
    v.push_back(std::make_unique<SpatialHash>(0.5));
    v.push_back(std::make_unique<SweepAndPrune>(1));
    v.push_back(std::make_unique<DynamicTree>(0.1));
    return v;
}

using PairSet = std::set<std::pair<std::int64_t, std::int64_t>>;

PairSet brute(const std::vector<std::int64_t>& ids, const std::vector<double>& lo,
              const std::vector<double>& hi) {
    PairSet s;
    for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::size_t j = i + 1; j < ids.size(); ++j) {
            bool ov = true;
            for (int k = 0; k < 3; ++k)
                ov = ov && lo[3 * i + k] <= hi[3 * j + k] && lo[3 * j + k] <= hi[3 * i + k];
            if (ov) s.insert({std::min(ids[i], ids[j]), std::max(ids[i], ids[j])});
        }
    return s;
}

PairSet as_set(const std::vector<std::int64_t>& flat, bool* sorted) {
    PairSet s;
    *sorted = true;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        s.insert({flat[i], flat[i + 1]});
        if (flat[i] >= flat[i + 1]) *sorted = false;
        if (i >= 2 && std::make_pair(flat[i - 2], flat[i - 1]) >= std::make_pair(flat[i], flat[i + 1]))
            *sorted = false;
    }
    return s;
}

// pairs() and pairs_involving(moved) of `h` against brute force over (ids, lo, hi): the same
// sets, each output sorted (rows ascending, smaller id first).
void check_pairs(const SpatialHash& h, const std::vector<std::int64_t>& ids, const std::vector<double>& lo,
                 const std::vector<double>& hi, const std::vector<std::int64_t>& moved) {
    std::vector<std::int64_t> p;
    CHECK(h.pairs(p));
    bool sorted = false;
    const PairSet all = brute(ids, lo, hi);
    CHECK(as_set(p, &sorted) == all);
    CHECK(sorted);
    const std::set<std::int64_t> mset(moved.begin(), moved.end());
    PairSet ref;
    for (const auto& pr : all)
        if (mset.count(pr.first) || mset.count(pr.second)) ref.insert(pr);
    std::vector<std::int64_t> pm;
    CHECK(h.pairs_involving(moved.data(), moved.size(), pm));
    CHECK(as_set(pm, &sorted) == ref);
    CHECK(sorted);
    // The validating form gives the same rows, and for a bad batch an error and no rows.
    std::vector<std::int64_t> pc;
    bool within = false;
    CHECK(h.checked_pairs_involving(moved.data(), moved.size(), pc, &within).ok());
    CHECK(within && pc == pm);
    if (!moved.empty()) {
        std::vector<std::int64_t> bad = moved, none;
        bad.push_back(moved[0]);  // repeated
        BroadphaseStatus st = h.checked_pairs_involving(bad.data(), bad.size(), none, &within);
        CHECK(st.code == BroadphaseError::kDuplicateId && st.index == moved.size() && none.empty());
        bad.back() = INT64_MAX - 3;  // absent (the tests' ids are small)
        st = h.checked_pairs_involving(bad.data(), bad.size(), none, &within);
        CHECK(st.code == BroadphaseError::kUnknownId && st.index == moved.size() && none.empty());
    }
}

void test_touching_and_queries() {
    for (auto& bp : all_kinds()) {
        const std::int64_t ids[] = {7, 3, 9};
        const double lo[] = {0, 0, 0, 1, 0, 0, 5, 5, 5};
        const double hi[] = {1, 1, 1, 2, 1, 1, 6, 6, 6};
        CHECK(bp->insert(ids, lo, hi, 3).ok());
        std::vector<std::int64_t> p;
        bp->pairs(p);
        CHECK(p.size() == 2 && p[0] == 3 && p[1] == 7);  // touching faces overlap
        const double qlo[] = {1.5, 0.5, 0.5}, qhi[] = {5, 5, 5};
        CsrResult r = bp->query_aabb(qlo, qhi, 1);
        CHECK(r.offsets.size() == 2 && r.ids.size() == 2 && r.ids[0] == 3 && r.ids[1] == 9);
        const double o[] = {-1, 0.5, 0.5}, d[] = {1, 0, 0}, t[] = {100};
        RayHit hit;
        bp->raycast_first(o, d, t, 1, &hit);
        CHECK(hit.id == 7);
        CHECK_NEAR(hit.t, 1.0, 0.0);
        // The corner (6, 6, 6) is sqrt(12) = 3.4641 from (8, 8, 8).
        const double c[] = {8, 8, 8, 8, 8, 8}, rad[] = {3.465, 3.464};
        CsrResult s = bp->query_sphere(c, rad, 2);
        CHECK(s.offsets[1] == 1 && s.ids[0] == 9 && s.offsets[2] == 1);
        CHECK(bp->check_invariants());
    }
}

void test_atomic_batches() {
    for (auto& bp : all_kinds()) {
        const std::int64_t ids[] = {1, 2};
        const double lo[] = {0, 0, 0, 0, 0, 0};
        const double hi[] = {1, 1, 1, 1, 1, 1};
        CHECK(bp->insert(ids, lo, hi, 2).ok());
        const std::int64_t dup[] = {5, 5};
        CHECK(bp->insert(dup, lo, hi, 2).code == BroadphaseError::kDuplicateId);
        const std::int64_t present[] = {5, 2};
        BroadphaseStatus s = bp->insert(present, lo, hi, 2);
        CHECK(s.code == BroadphaseError::kDuplicateId && s.index == 1 && s.id == 2);
        const double bad_lo[] = {0, 0, 0, 2, 0, 0};
        s = bp->insert(dup + 0, bad_lo, hi, 1);  // one row: fine
        CHECK(s.ok());
        const std::int64_t more[] = {6, 8};
        s = bp->insert(more, bad_lo, hi, 2);
        CHECK(s.code == BroadphaseError::kInverted && s.index == 1 && s.component == 0);
        const double nan_lo[] = {0, 0, 0, 0, NAN, 0};
        s = bp->update(ids, nan_lo, hi, 2);
        CHECK(s.code == BroadphaseError::kNotFinite && s.index == 1 && s.component == 1);
        const std::int64_t unknown[] = {1, 42};
        CHECK(bp->remove(unknown, 2).code == BroadphaseError::kUnknownId);
        CHECK(bp->size() == 3);  // 1, 2 and 5; nothing from the rejected batches
        CHECK(!bp->contains(6) && !bp->contains(42) && bp->contains(5));
        CHECK(bp->check_invariants());
    }
}

void test_churn_matches_brute_force() {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> pos(-20, 20), size(0, 3);
    for (auto& bp : all_kinds()) {
        std::vector<std::int64_t> ids;
        std::vector<double> lo, hi;
        std::int64_t next = -100;
        for (int round = 0; round < 30; ++round) {
            // insert 40
            std::vector<std::int64_t> ni;
            std::vector<double> nl, nh;
            for (int i = 0; i < 40; ++i) {
                ni.push_back(next += 3);
                for (int k = 0; k < 3; ++k) {
                    const double a = pos(rng), s = round % 7 == 0 && i == 0 ? 500.0 : size(rng);
                    nl.push_back(a);
                    nh.push_back(a + s);
                }
            }
            CHECK(bp->insert(ni.data(), nl.data(), nh.data(), ni.size()).ok());
            ids.insert(ids.end(), ni.begin(), ni.end());
            lo.insert(lo.end(), nl.begin(), nl.end());
            hi.insert(hi.end(), nh.begin(), nh.end());
            // move every third
            std::vector<std::int64_t> ui;
            std::vector<double> ul, uh;
            for (std::size_t i = 0; i < ids.size(); i += 3) {
                ui.push_back(ids[i]);
                for (int k = 0; k < 3; ++k) {
                    const double dlt = pos(rng) * 0.05;
                    lo[3 * i + k] += dlt;
                    hi[3 * i + k] += dlt;
                    ul.push_back(lo[3 * i + k]);
                    uh.push_back(hi[3 * i + k]);
                }
            }
            CHECK(bp->update(ui.data(), ul.data(), uh.data(), ui.size()).ok());
            // remove the first 15
            CHECK(bp->remove(ids.data(), 15).ok());
            ids.erase(ids.begin(), ids.begin() + 15);
            lo.erase(lo.begin(), lo.begin() + 45);
            hi.erase(hi.begin(), hi.begin() + 45);
            std::vector<std::int64_t> p;
            bp->pairs(p);
            bool sorted = false;
            const PairSet all = brute(ids, lo, hi);
            CHECK(as_set(p, &sorted) == all);
            CHECK(sorted);
            CHECK(bp->check_invariants());
            // Pairs involving the boxes that moved and are still present: the brute-force
            // pairs with either side among them (large and small batches take different paths).
            std::set<std::int64_t> still(ids.begin(), ids.end());
            std::vector<std::int64_t> moved;
            for (std::int64_t id : ui)
                if (still.count(id) && (round % 2 == 0 || moved.size() < 3)) moved.push_back(id);
            const std::set<std::int64_t> mset(moved.begin(), moved.end());
            PairSet ref;
            for (const auto& pr : all)
                if (mset.count(pr.first) || mset.count(pr.second)) ref.insert(pr);
            std::vector<std::int64_t> pm;
            bp->pairs_involving(moved.data(), moved.size(), pm);
            CHECK(as_set(pm, &sorted) == ref);
            CHECK(sorted);
        }
        CHECK(bp->size() == ids.size());
    }
}

// SpatialHash's side buffer and tombstones: single-row writes across the merge threshold
// (a fixed small cap and the automatic one), checked against brute force as they go.
void test_spatial_hash_single_writes() {
    for (int mode = 0; mode < 3; ++mode) {
        std::mt19937_64 rng(11 + static_cast<unsigned>(mode));
        std::uniform_real_distribution<double> pos(-15, 15), size(0, 2), unit(0, 1);
        SpatialHash h(mode == 2 ? 0.0 : 1.0);
        if (mode == 0) h.set_buffer_cap(5);
        std::vector<std::int64_t> ids;
        std::vector<double> lo, hi;
        for (std::int64_t i = 0; i < 200; ++i) {  // one batch: merged into the sorted index
            ids.push_back(i * 2);
            for (int k = 0; k < 3; ++k) {
                const double a = pos(rng);
                lo.push_back(a);
                hi.push_back(a + size(rng));
            }
        }
        CHECK(h.insert(ids.data(), lo.data(), hi.data(), ids.size()).ok());
        std::int64_t next = 1001;
        std::size_t saw_buffer = 0, saw_tomb = 0, merges = 0;
        for (int step = 0; step < 900; ++step) {
            const std::size_t before = h.buffered();
            const double op = unit(rng);
            if (op < 0.4 || ids.empty()) {
                double b[6];
                for (int k = 0; k < 3; ++k) {
                    b[k] = pos(rng);
                    b[3 + k] = b[k] + size(rng);
                }
                CHECK(h.insert(&next, b, b + 3, 1).ok());
                ids.push_back(next++);
                lo.insert(lo.end(), b, b + 3);
                hi.insert(hi.end(), b + 3, b + 6);
            } else if (op < 0.7) {
                const std::size_t i = static_cast<std::size_t>(unit(rng) * double(ids.size())) % ids.size();
                CHECK(h.remove(&ids[i], 1).ok());
                ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(i));
                lo.erase(lo.begin() + static_cast<std::ptrdiff_t>(3 * i), lo.begin() + static_cast<std::ptrdiff_t>(3 * i + 3));
                hi.erase(hi.begin() + static_cast<std::ptrdiff_t>(3 * i), hi.begin() + static_cast<std::ptrdiff_t>(3 * i + 3));
            } else {
                const std::size_t i = static_cast<std::size_t>(unit(rng) * double(ids.size())) % ids.size();
                const double jump = unit(rng) < 0.5 ? 0.01 : 6.0;  // stays in its cell, or not
                for (int k = 0; k < 3; ++k) {
                    const double d = (unit(rng) - 0.5) * jump;
                    lo[3 * i + k] += d;
                    hi[3 * i + k] += d;
                }
                CHECK(h.update(&ids[i], &lo[3 * i], &hi[3 * i], 1).ok());
            }
            saw_buffer += h.buffered() > 0;
            saw_tomb += h.tombstones() > 0;
            merges += h.buffered() < before;
            if (step % 60 != 59) continue;
            CHECK(h.check_invariants());
            CHECK(h.size() == ids.size());
            check_pairs(h, ids, lo, hi, std::vector<std::int64_t>(ids.end() - 7, ids.end()));
            const double qlo[3] = {-4, -4, -4}, qhi[3] = {4, 4, 4};
            const CsrResult q = h.query_aabb(qlo, qhi, 1);
            std::vector<std::int64_t> want;
            for (std::size_t i = 0; i < ids.size(); ++i) {
                bool ov = true;
                for (int k = 0; k < 3; ++k) ov = ov && lo[3 * i + k] <= qhi[k] && qlo[k] <= hi[3 * i + k];
                if (ov) want.push_back(ids[i]);
            }
            std::sort(want.begin(), want.end());
            CHECK(q.ids == want);
        }
        CHECK(saw_buffer > 0);
        CHECK(saw_tomb > 0);
        CHECK(merges > 0);
    }
}

// SpatialHash's dense pass (one level in a compact block, >= 64 boxes): similar boxes at
// ~3 overlaps each, ticks that move 10% of them a little (a batch merge), single removes
// (tombstones) and inserts (side buffer) in between, and a stack of boxes in one cell;
// pairs() and pairs_involving() against brute force after each step.
void test_spatial_hash_dense_pass() {
    std::mt19937_64 rng(11);
    const std::size_t n = 1500;
    const double side = 2.5 * std::cbrt(double(n) / 3.0);
    std::uniform_real_distribution<double> pos(0, side), half(0.25, 1.0), step(-0.27, 0.27);
    SpatialHash h(0.0);
    std::vector<std::int64_t> ids;
    std::vector<double> lo, hi;
    for (std::size_t i = 0; i < n; ++i) {
        ids.push_back(static_cast<std::int64_t>(7 * i + 3));
        for (int k = 0; k < 3; ++k) {
            const double c = pos(rng), e = half(rng);
            lo.push_back(c - e);
            hi.push_back(c + e);
        }
    }
    CHECK(h.insert(ids.data(), lo.data(), hi.data(), ids.size()).ok());
    auto check = [&](const std::vector<std::int64_t>& moved) {
        CHECK(h.check_invariants());
        check_pairs(h, ids, lo, hi, moved);
    };
    check({});
    std::int64_t next = 1'000'000;
    for (int round = 0; round < 6; ++round) {
        std::vector<std::int64_t> ui;
        std::vector<double> ul, uh;
        for (std::size_t i = static_cast<std::size_t>(round); i < ids.size(); i += 10) {
            ui.push_back(ids[i]);
            for (int k = 0; k < 3; ++k) {
                const double d = step(rng);
                lo[3 * i + k] += d;
                hi[3 * i + k] += d;
                ul.push_back(lo[3 * i + k]);
                uh.push_back(hi[3 * i + k]);
            }
        }
        CHECK(h.update(ui.data(), ul.data(), uh.data(), ui.size()).ok());
        check(ui);
        // One remove (a tombstone) and one insert (the side buffer), then pairs again.
        const std::size_t gone = (static_cast<std::size_t>(round) * 97) % ids.size();
        CHECK(h.remove(&ids[gone], 1).ok());
        ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(gone));
        lo.erase(lo.begin() + static_cast<std::ptrdiff_t>(3 * gone), lo.begin() + static_cast<std::ptrdiff_t>(3 * gone + 3));
        hi.erase(hi.begin() + static_cast<std::ptrdiff_t>(3 * gone), hi.begin() + static_cast<std::ptrdiff_t>(3 * gone + 3));
        const double c[3] = {pos(rng), pos(rng), pos(rng)};
        const double nl[3] = {c[0] - 0.5, c[1] - 0.5, c[2] - 0.5}, nh[3] = {c[0] + 0.5, c[1] + 0.5, c[2] + 0.5};
        ids.push_back(next);
        CHECK(h.insert(&next, nl, nh, 1).ok());
        ++next;
        lo.insert(lo.end(), nl, nl + 3);
        hi.insert(hi.end(), nh, nh + 3);
        CHECK(h.tombstones() > 0);
        CHECK(h.buffered() > 0);
        check({ids.back()});
    }
    // 300 boxes stacked in one cell: a bucket of 299 partners per rank, one cell's pass.
    SpatialHash stack(1.0);
    std::vector<std::int64_t> sid(300);
    std::vector<double> sl(900, 0.25), sh(900, 0.75);
    for (std::size_t i = 0; i < sid.size(); ++i) sid[i] = static_cast<std::int64_t>(sid.size() - i);
    CHECK(stack.insert(sid.data(), sl.data(), sh.data(), sid.size()).ok());
    std::vector<std::int64_t> p;
    CHECK(stack.pairs(p));
    bool sorted = false;
    CHECK(as_set(p, &sorted) == brute(sid, sl, sh));
    CHECK(sorted);
}

// A wall of unit bricks in the y-z plane, all with min x = 0, in cells far larger than the
// bricks: set explicitly (the level is re-gridded per call and swept along y or z), or by a
// baseplate inserted alone (the automatic size is re-chosen when the bricks merge in). pairs()
// and pairs_involving() against brute force, before and after bricks move out of the wall.
void test_spatial_hash_crowded_wall() {
    for (const double cell : {64.0, 0.0}) {
        SpatialHash h(cell);
        std::vector<std::int64_t> ids;
        std::vector<double> lo, hi;
        if (cell == 0.0) {
            ids.push_back(1'000'000);
            lo.insert(lo.end(), {-1024.0, -3.0, -1024.0});
            hi.insert(hi.end(), {1024.0, -2.0, 1024.0});
            CHECK(h.insert(ids.data(), lo.data(), hi.data(), 1).ok());
            CHECK(h.cell_size() > 2000.0);
        }
        const std::size_t first = ids.size();
        for (int y = 0; y < 30; ++y)
            for (int z = 0; z < 30; ++z) {
                ids.push_back(static_cast<std::int64_t>(ids.size()) * 5);
                lo.insert(lo.end(), {0.0, double(y), double(z)});
                hi.insert(hi.end(), {1.0, double(y) + 1.0, double(z) + 1.0});
            }
        CHECK(h.insert(ids.data() + first, lo.data() + 3 * first, hi.data() + 3 * first, ids.size() - first).ok());
        if (cell == 0.0) CHECK(h.cell_size() < 2.0);
        std::vector<std::int64_t> moved;
        for (std::size_t i = first; i < ids.size(); i += 10) moved.push_back(ids[i]);
        CHECK(h.check_invariants());
        check_pairs(h, ids, lo, hi, moved);
        check_pairs(h, ids, lo, hi, ids);
        // Every 7th brick 1.5 studs out of the wall along x, every 11th back touching it.
        std::vector<std::int64_t> ui;
        std::vector<double> ul, uh;
        for (std::size_t i = first; i < ids.size(); i += 7) {
            const double dx = (i % 11 == 0) ? 1.0 : 1.5;
            lo[3 * i] += dx;
            hi[3 * i] += dx;
            ui.push_back(ids[i]);
            ul.insert(ul.end(), {lo[3 * i], lo[3 * i + 1], lo[3 * i + 2]});
            uh.insert(uh.end(), {hi[3 * i], hi[3 * i + 1], hi[3 * i + 2]});
        }
        CHECK(h.update(ui.data(), ul.data(), uh.data(), ui.size()).ok());
        CHECK(h.check_invariants());
        check_pairs(h, ids, lo, hi, ui);
        check_pairs(h, ids, lo, hi, moved);
    }
}

}  // namespace

int main() {
    test_touching_and_queries();
    test_atomic_batches();
    test_churn_matches_brute_force();
    test_spatial_hash_single_writes();
    test_spatial_hash_dense_pass();
    test_spatial_hash_crowded_wall();
    TEST_MAIN_END();
}
