// SPDX-License-Identifier: MIT
// The exact A* kernel for 2D bool grids (private: detail::astar_exact, which resets the result
// and runs csrc/src/grid_astar_exact_2d.cpp) called directly, as grid_astar does: an exhausted search (unreachable goal) must come back with `true` and no
// path, not `false`, which sends the caller to rerun the whole query in the slow generic
// kernel (review of round 6: a walled-in goal cost 10-20x the time and 4x the memory; the
// answer stayed right, so only this contract shows it). Costs against an own Dijkstra.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "check.hpp"
#include "dijkstra2.hpp"
#include "detail/exact_astar.hpp"
#include "detail/grid_search.hpp"

using namespace fbsim;
using fbsim_test::view2;

int main() {
    detail::ExactStore store;  // kept across queries, as astar() keeps it per thread
    PathResult out;

    // The review's case, 4-connected from (1,0) to the walled-in (0,4):
    //   ...#.
    //   ....#
    // (1,2) is queued at f = 6, reached again at f = 5 and expanded; its f = 6 entry is the
    // last one left, and dropping it empties the queue during the bucket scan.
    const std::vector<std::uint8_t> tiny = {1, 1, 1, 0, 1, 1, 1, 1, 1, 0};
    store.state2d.forget_grid();
    const GridView tg = view2(tiny, 2, 5);
    CHECK(detail::astar_exact(tg, detail::make_moves(tg, 4), 4, 5, 4, 0, store, &out, true));
    CHECK(!out.found && out.cells.empty());

    // Random grids with the goal walled in (and some reachable goals), 4- and 8-connected.
    std::mt19937_64 rng(7);
    int unreachable = 0;
    for (int q = 0; q < 400; ++q) {
        const std::int64_t rows = 3 + static_cast<std::int64_t>(rng() % 40);
        const std::int64_t cols = 3 + static_cast<std::int64_t>(rng() % 40);
        std::vector<std::uint8_t> cells(static_cast<std::size_t>(rows * cols));
        for (auto& v : cells) v = (rng() % 100) < 20 ? 0 : 1;
        const std::int64_t gr = 1 + static_cast<std::int64_t>(rng() % (rows - 2));
        const std::int64_t gc = 1 + static_cast<std::int64_t>(rng() % (cols - 2));
        if (q % 4 != 3) {  // a ring of walls around the goal
            for (int dr = -1; dr <= 1; ++dr)
                for (int dc = -1; dc <= 1; ++dc)
                    if (dr != 0 || dc != 0) cells[(gr + dr) * cols + gc + dc] = 0;
        }
        const std::int64_t goal = gr * cols + gc;
        cells[goal] = 1;
        std::int64_t start = static_cast<std::int64_t>(rng() % cells.size());
        if (start == goal) start = 0;
        cells[start] = 1;
        const int conn = q % 2 ? 4 : 8;
        store.state2d.forget_grid();  // a new grid at a reused address: repack (as astar() does)
        const GridView g = view2(cells, rows, cols);
        const bool done = detail::astar_exact(g, detail::make_moves(g, conn), conn, start, goal, 0, store, &out, true);
        CHECK(done);
        const double ref = fbsim_test::dijkstra2(cells, rows, cols, start, goal, conn);
        CHECK(out.found == std::isfinite(ref));
        if (out.found) CHECK_NEAR(out.cost, ref, 1e-9);
        unreachable += std::isfinite(ref) ? 0 : 1;
    }
    CHECK(unreachable > 200);
    TEST_MAIN_END();
}
