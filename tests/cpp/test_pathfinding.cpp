// SPDX-License-Identifier: MIT
// Grid searches, flow fields, line of sight and voxel overlap on analytic cases.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <random>
#include <utility>
#include <vector>

#include "check.hpp"
#include "dijkstra2.hpp"
#include "fbsim/pathfinding.hpp"
#include "fbsim/voxelize.hpp"

using namespace fbsim;
using fbsim_test::view2;

int main() {
    const double s2 = std::sqrt(2.0), s3 = std::sqrt(3.0);
    const double inf = std::numeric_limits<double>::infinity();

    // Open 4x4: corner to corner is three diagonals.
    std::vector<std::uint8_t> open(16, 1);
    GridView g = view2(open, 4, 4);
    PathResult r;
    grid_astar(g, 0, 15, PathSettings{}, &r);
    CHECK(r.found);
    CHECK_NEAR(r.cost, 3 * s2, 1e-12);
    CHECK(r.cells.size() == 4 && r.cells.front() == 0 && r.cells.back() == 15);
    grid_jps(g, 0, 15, PathSettings{}, &r);
    CHECK_NEAR(r.cost, 3 * s2, 1e-12);
    CHECK(r.cells.size() == 4);
    PathSettings four;
    four.connectivity = 4;
    grid_astar(g, 0, 15, four, &r);
    CHECK_NEAR(r.cost, 6.0, 1e-12);

    // No corner cutting: (0,0) -> (1,1) with (0,1) blocked costs 2.
    std::vector<std::uint8_t> corner = {1, 0, 1, 1};
    GridView c = view2(corner, 2, 2);
    grid_astar(c, 0, 3, PathSettings{}, &r);
    CHECK_NEAR(r.cost, 2.0, 1e-12);
    grid_jps(c, 0, 3, PathSettings{}, &r);
    CHECK_NEAR(r.cost, 2.0, 1e-12);
    CHECK(!line_of_sight(c, 0, 3));

    // Wall: unreachable gives found = false, cost inf, empty path; the flow field is inf there.
    std::vector<std::uint8_t> wall = {1, 0, 1, 1, 0, 1, 1, 0, 1};
    GridView w = view2(wall, 3, 3);
    grid_astar(w, 0, 2, PathSettings{}, &r);
    CHECK(!r.found && r.cells.empty() && r.cost == inf);
    std::vector<double> field(9);
    const std::int64_t goal = 0;
    flow_field(w, &goal, 1, 8, field.data());
    CHECK(field[0] == 0.0 && field[3] == 1.0 && field[6] == 2.0 && field[2] == inf);

    // Weighted: entering a cost-3 cell costs 3 per unit of step length.
    std::vector<double> costs = {1, 3, 1};
    GridView wc;
    wc.costs = costs.data();
    wc.rows = 1;
    wc.cols = 3;
    grid_astar(wc, 0, 2, PathSettings{}, &r);
    CHECK_NEAR(r.cost, 4.0, 1e-12);
    CHECK(!jps_supported(wc));
    const double bad[] = {1.0, 0.5, std::nan("")};
    Status st = validate_grid_costs(bad, 3);
    CHECK(st.code == ErrorCode::kOutOfRange && st.index == 1);

    // 3D: open 2x2x2, 26-connected corner to corner is one sqrt(3) move; 18-connected is
    // sqrt(2) + 1; 6-connected is 3.
    std::vector<std::uint8_t> cube(8, 1);
    GridView v;
    v.passable = cube.data();
    v.ndim = 3;
    v.depth = v.rows = v.cols = 2;
    PathSettings s26;
    s26.connectivity = 26;
    grid_astar(v, 0, 7, s26, &r);
    CHECK_NEAR(r.cost, s3, 1e-12);
    s26.connectivity = 18;
    grid_astar(v, 0, 7, s26, &r);
    CHECK_NEAR(r.cost, s2 + 1, 1e-12);
    s26.connectivity = 6;
    grid_astar(v, 0, 7, s26, &r);
    CHECK_NEAR(r.cost, 3.0, 1e-12);

    // Batch results do not depend on the worker count.
    const std::int64_t starts[] = {0, 3, 12, 5}, goals[] = {15, 12, 3, 10};
    double one[4], many[4];
    grid_paths_batch(g, starts, goals, 4, PathMethod::kAstar, PathSettings{}, 1, one, nullptr);
    grid_paths_batch(g, starts, goals, 4, PathMethod::kJps, PathSettings{}, 3, many, nullptr);
    for (int i = 0; i < 4; ++i) CHECK_NEAR(one[i], many[i], 1e-12);

    // The 2D exact kernel packs passability into bits: any non-zero byte means free (the
    // header's contract), not just 1. Reference: the weighted search (doubles, no bit copy)
    // on the same grid as costs 1 / inf, and the open-grid closed form. 67 columns put the
    // bit rows' word boundaries at varying columns.
    {
        const std::int64_t rows = 9, cols = 67;
        std::vector<std::uint8_t> bytes(static_cast<std::size_t>(rows * cols));
        std::vector<double> unit(bytes.size());
        std::uint32_t seed = 12345;
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            seed = seed * 1664525u + 1013904223u;
            const std::uint32_t v = seed >> 24;
            bytes[i] = v < 64 ? 0 : static_cast<std::uint8_t>(v);  // 0 or 64..255
            unit[i] = bytes[i] ? 1.0 : inf;
        }
        bytes[0] = 255;
        bytes.back() = 2;
        unit[0] = unit.back() = 1.0;
        GridView bv = view2(bytes, rows, cols);
        GridView uv;
        uv.costs = unit.data();
        uv.rows = rows;
        uv.cols = cols;
        PathResult rb, ru;
        for (int conn : {4, 8}) {
            PathSettings ps;
            ps.connectivity = conn;
            for (std::int64_t goal_cell : {cols - 1, rows * cols - 1, 5 * cols + 63}) {
                if (!bytes[static_cast<std::size_t>(goal_cell)]) continue;
                grid_astar(bv, 0, goal_cell, ps, &rb);
                grid_astar(uv, 0, goal_cell, ps, &ru);
                CHECK(rb.found == ru.found);
                if (rb.found) CHECK_NEAR(rb.cost, ru.cost, 1e-9);
            }
        }
        std::vector<std::uint8_t> ones(static_cast<std::size_t>(rows * cols), 7);
        PathResult ro;
        grid_astar(view2(ones, rows, cols), 0, rows * cols - 1, PathSettings{}, &ro);
        CHECK_NEAR(ro.cost, 58 + 8 * s2, 1e-12);
        CHECK(ro.cells.size() == 67);
    }

    // grid_astar keeps its search state per thread between calls (kAstarRetainedBytes): one
    // buffer edited in place between calls, grids of other shapes, and a grid above the cap
    // in between, as a C++ server calling it every tick would; costs against dijkstra2.
    {
        std::mt19937_64 rng(7);
        std::vector<std::uint8_t> buf;
        const std::int64_t shapes[][2] = {{37, 41}, {37, 41}, {5, 300}, {300, 5}, {64, 64},
                                          {37, 41}, {1, 90}, {128, 129}};
        for (int round = 0; round < 24; ++round) {
            const std::int64_t rows = shapes[round % 8][0], cols = shapes[round % 8][1];
            buf.assign(static_cast<std::size_t>(rows * cols), 1);
            for (auto& v : buf) v = rng() % 100 < 25 ? 0 : 1;
            const GridView gv = view2(buf, rows, cols);
            for (int q = 0; q < 6; ++q) {
                const auto n = static_cast<std::uint64_t>(rows * cols);
                const auto s = static_cast<std::int64_t>(rng() % n);
                const auto t = static_cast<std::int64_t>(rng() % n);
                buf[static_cast<std::size_t>(s)] = buf[static_cast<std::size_t>(t)] = 1;
                for (int conn : {4, 8}) {
                    PathSettings ps;
                    ps.connectivity = conn;
                    grid_astar(gv, s, t, ps, &r);
                    const double want = fbsim_test::dijkstra2(buf, rows, cols, s, t, conn);
                    CHECK(r.found == (want < inf));
                    if (want < inf) CHECK_NEAR(r.cost, want, 1e-9);
                }
                // Edit in place: same address and shape, other contents.
                buf[static_cast<std::size_t>(rng() % n)] ^= 1;
            }
            if (round == 11) {  // 3000 x 3000: 72 MB of node words, above the cap
                std::vector<std::uint8_t> big(3000 * 3000, 1);
                grid_astar(view2(big, 3000, 3000), 1500 * 3000 + 1500, 1507 * 3000 + 1502,
                           PathSettings{}, &r);
                CHECK_NEAR(r.cost, 5 + 2 * s2, 1e-12);
            }
        }
    }

    // Voxel overlap: a unit box flush with a cell face does not overlap it; rotated, it does.
    const double center[] = {0.5, 0.5, 0.5}, half[] = {0.5, 0.5, 0.5};
    const double identity[] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const double lo[] = {1, 0, 0}, hi[] = {2, 1, 1};
    CHECK(!obb_overlaps_aabb(center, identity, half, lo, hi));
    const double cz = std::cos(0.3), sz = std::sin(0.3);
    const double rotz[] = {cz, -sz, 0, sz, cz, 0, 0, 0, 1};
    CHECK(obb_overlaps_aabb(center, rotz, half, lo, hi));
    const double far_lo[] = {1.3, 0, 0}, far_hi[] = {2, 1, 1};
    CHECK(!obb_overlaps_aabb(center, rotz, half, far_lo, far_hi));
    return fbsim_test::failures;
}
