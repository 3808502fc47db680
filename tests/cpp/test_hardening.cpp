// SPDX-License-Identifier: MIT
// Regression tests for findings of the fuzzers and sanitizers (issue 10). Each case names the
// harness that found it. This binary links the broad phase and the octree together on
// purpose: the first finding only showed in a program that used both.
#include <cmath>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "fbsim/broadphase.hpp"
#include "fbsim/narrowphase.hpp"
#include "fbsim/octree.hpp"

int main() {
    // The id map's direct table widens geometrically whatever the id spacing: single inserts of
    // ids 0, 2, 4, ... once widened it by ~18 entries every ~9 inserts (the step was clamped to
    // the 2 x items bound), copying the whole table each time: quadratic in the item count.
    for (const std::int64_t stride : {1, 2, 3, 7}) {
        fbsim::detail::IdMap map;
        std::size_t widenings = 0, range = map.dense_range();
        constexpr std::int64_t kItems = 20000;
        for (std::int64_t i = 0; i < kItems; ++i) {
            const std::int64_t id = i * stride;
            map.reserve(&id, 1);
            map.insert(id, static_cast<std::uint32_t>(i));
            widenings += map.dense_range() != range ? 1 : 0;
            range = map.dense_range();
        }
        CHECK(widenings <= 40);  // log_1.5(20000) ~ 24.4, plus the small first steps
        for (std::int64_t i = 0; i < kItems; ++i) CHECK(map.find(i * stride) == static_cast<std::uint32_t>(i));
        CHECK(map.find(-1) == fbsim::detail::IdMap::kNone);
        CHECK(map.find(kItems * stride) == fbsim::detail::IdMap::kNone);
        CHECK(map.memory_bytes() <= 64 * static_cast<std::size_t>(kItems));
    }
    // fuzz_spatial: fbsim::detail::IdMap was two different classes (broadphase.hpp and the
    // octree's private header). A program linking both got one set of inline bodies for both,
    // and a plain Quadtree insert broke the tree's invariants.
    {
        fbsim::SpatialHash hash;
        const std::int64_t hid[2] = {1, 2};
        const double lo[6] = {0, 0, 0, 5, 5, 5};
        const double hi[6] = {1, 1, 1, 6, 6, 6};
        CHECK(hash.insert(hid, lo, hi, 2).ok());
        CHECK(hash.check_invariants());

        fbsim::SpatialTree<2> tree(false);
        const std::int64_t ids[2] = {14, 12};
        const double pts[4] = {4.9406564584124654e-324, 5.2301927407316627e-281, 8.375, 1.375};
        CHECK(tree.insert(ids, pts, 2).ok());
        CHECK(tree.check_invariants());
        CHECK(tree.size() == 2);
        CHECK(tree.contains(14) && tree.contains(12) && !tree.contains(1));
        std::vector<std::int64_t> pairs;
        hash.pairs(pairs);
        CHECK(pairs.empty());
        CHECK(hash.contains(1) && hash.contains(2) && !hash.contains(14));
    }
    // fuzz_narrowphase: a ray starting ~3e-12 outside a box face returned a normal of length
    // 1.0003 (the point difference was divided by a separately rounded distance).
    {
        const double c[3] = {7, 7, 7}, q[4] = {7, 7, 7, 7}, h[3] = {7, 7, 7};
        fbsim::ShapeBatch box;
        box.kind = fbsim::ShapeKind::kBox;
        box.count = 1;
        box.centers = c, box.quats = q, box.half_extents = h;
        const double origin[3] = {-2.9367792919732234e-12, 3.25, 1e-09};
        const double dir[3] = {-8.546264520854999e-129, -1.0, 5e-324};
        const double max_t = 75.0;
        double t = -1.0, n[3] = {};
        fbsim::raycast_batch(box, origin, dir, &max_t, 1, fbsim::GjkSettings{}, &t, n);
        CHECK(t == 0.0);
        CHECK_NEAR(std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]), 1.0, 1e-12);
    }
    // fuzz_spatial: INT64_MIN is the broad phase's free-slot marker; inserting it as an id
    // made its slot look free and broke the index. Now rejected, structure unchanged.
    {
        fbsim::SweepAndPrune sap;
        const std::int64_t ids[2] = {5, INT64_MIN};
        const double lo[6] = {0, 0, 0, 0, 0, 0};
        const double hi[6] = {1, 1, 1, 1, 1, 1};
        const fbsim::BroadphaseStatus s = sap.insert(ids, lo, hi, 2);
        CHECK(s.code == fbsim::BroadphaseError::kReservedId);
        CHECK(s.index == 1);
        CHECK(sap.size() == 0);
        CHECK(sap.check_invariants());
    }
    // Result-size cap (issue 10): 40 stacked boxes = 780 pairs; one under the cap is refused
    // with nothing appended, at the cap the exact answer comes back. Every structure.
    {
        fbsim::SpatialHash h;
        fbsim::SweepAndPrune s;
        fbsim::DynamicTree t;
        fbsim::Broadphase* all[] = {&h, &s, &t};
        std::vector<std::int64_t> ids;
        std::vector<double> lo, hi;
        for (int i = 0; i < 40; ++i) {
            ids.push_back(i);
            for (int a = 0; a < 3; ++a) {
                lo.push_back(-0.01 * i);
                hi.push_back(1.0 + 0.01 * i);
            }
        }
        for (fbsim::Broadphase* bp : all) {
            CHECK(bp->max_results() == fbsim::kMaxQueryResults);
            CHECK(bp->insert(ids.data(), lo.data(), hi.data(), ids.size()).ok());
            bp->set_max_results(779);
            std::vector<std::int64_t> out;
            CHECK(!bp->pairs(out) && out.empty());
            const fbsim::CsrResult r = bp->query_aabb(lo.data(), hi.data(), 20);
            CHECK(r.over_limit && r.ids.empty() && r.offsets.empty());
            bp->set_max_results(780);
            CHECK(bp->pairs(out) && out.size() == 2 * 780);
            CHECK(!bp->query_aabb(lo.data(), hi.data(), 19).over_limit);  // 19 x 40 = 760 ids
        }
    }
    // Item limit (issue 10): 2^32 - 2 slots by default, checked on insert (lowered here so the
    // test does not need 200 GB). The first row that does not fit is named; nothing changes.
    {
        CHECK(fbsim::kMaxBroadphaseItems == 4294967294u);
        fbsim::SpatialHash h;
        fbsim::SweepAndPrune s;
        fbsim::DynamicTree t;
        fbsim::Broadphase* all[] = {&h, &s, &t};
        const std::int64_t ids[4] = {10, 11, 12, 13};
        const double lo[12] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
        const double hi[12] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4};
        for (fbsim::Broadphase* bp : all) {
            CHECK(bp->max_items() == fbsim::kMaxBroadphaseItems);
            bp->set_max_items(std::size_t{1} << 40);  // clamped: slots stay 32-bit
            CHECK(bp->max_items() == fbsim::kMaxBroadphaseItems);
            bp->set_max_items(3);
            CHECK(bp->insert(ids, lo, hi, 2).ok());
            const fbsim::BroadphaseStatus st = bp->insert(ids + 2, lo + 6, hi + 6, 2);
            CHECK(st.code == fbsim::BroadphaseError::kTooManyItems);
            CHECK(st.index == 1 && st.id == 13);
            CHECK(bp->size() == 2 && !bp->contains(12));
            CHECK(bp->check_invariants());
            CHECK(bp->insert(ids + 2, lo + 6, hi + 6, 1).ok());  // exactly at the limit
            CHECK(bp->size() == 3);
            const std::int64_t gone[1] = {10};
            CHECK(bp->remove(gone, 1).ok());  // removing makes room again
            CHECK(bp->insert(ids + 3, lo + 9, hi + 9, 1).ok());
            CHECK(bp->size() == 3 && bp->check_invariants());
        }
    }
    TEST_MAIN_END();
}
