// SPDX-License-Identifier: MIT
// Octree/Quadtree core: analytic cases, degenerate data, status codes, atomic batches, and
// random updates checked against an in-test brute force (no Python involved).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "check.hpp"
#include "fbsim/octree.hpp"

using namespace fbsim;

namespace {

// Brute force: first k of (distance, id) over points stored in `pts` (ids = index + base).
std::vector<std::pair<double, std::int64_t>> brute_knn(const std::vector<double>& pts,
                                                       const std::vector<std::int64_t>& ids,
                                                       const double* q, std::size_t k) {
    std::vector<std::pair<double, std::int64_t>> all;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        double s = 0;
        for (int a = 0; a < 3; ++a) {
            const double d = q[a] - pts[i * 3 + a];
            s += d * d;
        }
        all.push_back({std::sqrt(s), ids[i]});
    }
    std::sort(all.begin(), all.end());
    all.resize(k);
    return all;
}

void check_knn_against_brute(const Octree& t, const std::vector<double>& pts,
                             const std::vector<std::int64_t>& ids, std::mt19937_64& rng,
                             std::size_t k, int workers) {
    std::uniform_real_distribution<double> u(-1.0, 2.0);
    const std::size_t nq = 50;
    std::vector<double> q(nq * 3);
    for (double& v : q) v = u(rng);
    std::vector<double> d(nq * k);
    std::vector<std::int64_t> out(nq * k);
    t.knn(q.data(), nq, k, workers, d.data(), out.data());
    for (std::size_t i = 0; i < nq; ++i) {
        auto want = brute_knn(pts, ids, &q[i * 3], k);
        for (std::size_t j = 0; j < k; ++j) {
            CHECK(d[i * k + j] == want[j].first);
            CHECK(out[i * k + j] == want[j].second);
        }
    }
}

}  // namespace

int main() {
    // Analytic: three points on a line.
    {
        const double pts[] = {0, 0, 0, 1, 0, 0, 5, 0, 0};
        Octree t;
        CHECK(t.build(pts, nullptr, 3).ok());
        const double q[] = {0.9, 0, 0};
        double d[2];
        std::int64_t ids[2];
        t.knn(q, 1, 2, 1, d, ids);
        CHECK(ids[0] == 1 && ids[1] == 0);
        CHECK_NEAR(d[0], 0.1, 1e-15);
        std::vector<std::int64_t> off, got;
        const double r = 1.0;
        t.radius(q, 1, &r, 0, 1, off, got);
        CHECK(off.size() == 2 && off[1] == 2 && got[0] == 0 && got[1] == 1);
        const double o[] = {-1, 0, 0}, dir[] = {3, 0, 0}, tmax = 100;
        double th;
        std::int64_t hit;
        t.raycast(o, dir, 1, &tmax, 0, 1, &th, &hit);
        CHECK(hit == 0 && th == 1.0);
    }
    // Status codes and atomicity.
    {
        const double pts[] = {0, 0, 0, 1, 1, 1};
        const std::int64_t ids[] = {4, 4};
        Octree t;
        CHECK(t.build(pts, ids, 2).code == TreeError::kDuplicateId);
        const std::int64_t ok_ids[] = {4, 5};
        CHECK(t.build(pts, ok_ids, 2).ok());
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const double bad[] = {0, 0, 0, 0, nan, 0};
        const std::int64_t new_ids[] = {6, 7};
        TreeStatus s = t.insert(new_ids, bad, 2);
        CHECK(s.code == TreeError::kInvalidGeometry && s.index == 1 && s.geometry.component == 1);
        CHECK(t.size() == 2 && !t.contains(6));
        const std::int64_t unknown[] = {4, 9};
        s = t.remove(unknown, 2);
        CHECK(s.code == TreeError::kUnknownId && s.index == 1 && s.id == 9);
        CHECK(t.size() == 2 && t.contains(4));
        const std::int64_t exists[] = {8, 5};
        CHECK(t.insert(exists, pts, 2).code == TreeError::kIdExists);
        CHECK(t.size() == 2 && !t.contains(8));
        const double inverted[] = {0, 0, 0, 1, -1, 1};
        Octree boxes(true);
        s = boxes.build(inverted, nullptr, 1);
        CHECK(s.code == TreeError::kInvertedBox && s.geometry.component == 4);
        CHECK(t.check_invariants());
    }
    // Degenerate: 500 identical points; ties resolve by id and the depth cap stops splitting.
    {
        std::vector<double> pts(500 * 3, 2.5);
        Octree t;
        CHECK(t.build(pts.data(), nullptr, 500).ok());
        CHECK(t.check_invariants());
        const double q[] = {0, 0, 0};
        double d[3];
        std::int64_t ids[3];
        t.knn(q, 1, 3, 1, d, ids);
        CHECK(ids[0] == 0 && ids[1] == 1 && ids[2] == 2);
        CHECK(d[0] == d[2]);
    }
    // Random updates (including far moves that grow the root) against brute force.
    {
        std::mt19937_64 rng(7);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        const std::size_t n = 3000;
        std::vector<double> pts(n * 3);
        std::vector<std::int64_t> ids(n);
        for (double& v : pts) v = u(rng);
        for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i) * 7 - 100;
        Octree t;
        CHECK(t.build(pts.data(), ids.data(), n).ok());
        check_knn_against_brute(t, pts, ids, rng, 8, 1);
        for (int round = 0; round < 20; ++round) {
            std::vector<std::int64_t> mv;
            std::vector<double> to;
            for (std::size_t i = 0; i < n; i += 5 + static_cast<std::size_t>(round)) {
                mv.push_back(ids[i]);
                for (int a = 0; a < 3; ++a) {
                    double v = u(rng) * (round % 7 == 3 ? 1000.0 : 1.0);
                    to.push_back(v);
                    pts[i * 3 + a] = v;
                }
            }
            CHECK(t.move(mv.data(), to.data(), mv.size()).ok());
            CHECK(t.check_invariants());
        }
        check_knn_against_brute(t, pts, ids, rng, 8, 3);
        // Remove every other item.
        std::vector<std::int64_t> gone, keep_ids;
        std::vector<double> keep_pts;
        for (std::size_t i = 0; i < n; ++i) {
            if (i % 2) {
                gone.push_back(ids[i]);
            } else {
                keep_ids.push_back(ids[i]);
                keep_pts.insert(keep_pts.end(), &pts[i * 3], &pts[i * 3] + 3);
            }
        }
        CHECK(t.remove(gone.data(), gone.size()).ok());
        CHECK(t.size() == keep_ids.size() && t.check_invariants());
        check_knn_against_brute(t, keep_pts, keep_ids, rng, 5, 2);
    }
    // Quadtree: query_aabb counts on a grid.
    {
        std::vector<double> pts;
        for (int x = 0; x < 10; ++x)
            for (int y = 0; y < 10; ++y) {
                pts.push_back(x);
                pts.push_back(y);
            }
        Quadtree t;
        CHECK(t.build(pts.data(), nullptr, 100).ok());
        const double lo[] = {2, 3}, hi[] = {4, 3};
        std::int64_t c = 0;
        t.query_aabb_count(lo, hi, 1, 1, &c);
        CHECK(c == 3);
    }
    TEST_MAIN_END();
}
