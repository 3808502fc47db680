// SPDX-License-Identifier: MIT
// The documented concurrent uses, driven with std::thread so that ThreadSanitizer (.ci/tsan)
// sees every access: (1) several readers query one structure with no lock (const members are
// documented safe concurrently); (2) readers under a shared lock while one writer inserts,
// updates and removes under the exclusive lock (the discipline the headers document for
// writers); (3) the batch kernels that start their own workers (octree queries, grid paths,
// k-d partition), called from several threads at once. Every result is checked against a
// brute-force answer or the single-threaded run, so the test also fails without TSan.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "check.hpp"
#include "fbsim/broadphase.hpp"
#include "fbsim/octree.hpp"
#include "fbsim/pathfinding.hpp"
#include "fbsim/shard.hpp"

using namespace fbsim;

namespace {

constexpr int kReaders = 4;

// Reader loop bound: readers run until the writer is done (at least kMinReads each), but
// never more than kMaxReads, so a reader-preferring shared_mutex cannot starve the writer
// into an endless test.
constexpr int kMinReads = 3;
constexpr int kMaxReads = 400;

bool keep_reading(const std::atomic<bool>& done, int rep) {
    return rep < kMaxReads && (rep < kMinReads || !done.load());
}

// Between two reads, outside the lock: gives a waiting writer its turn.
void pause() { std::this_thread::sleep_for(std::chrono::microseconds(200)); }

struct Boxes {
    std::vector<std::int64_t> ids;
    std::vector<double> lo, hi;  // count x 3
};

Boxes random_boxes(std::size_t n, std::uint32_t seed, std::int64_t first_id = 0) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> pos(-50.0, 50.0), size(0.2, 3.0);
    Boxes b;
    for (std::size_t i = 0; i < n; ++i) {
        b.ids.push_back(first_id + static_cast<std::int64_t>(i));
        for (int a = 0; a < 3; ++a) {
            const double c = pos(rng), h = size(rng);
            b.lo.push_back(c - h);
            b.hi.push_back(c + h);
        }
    }
    return b;
}

bool overlaps(const double* alo, const double* ahi, const double* blo, const double* bhi) {
    for (int a = 0; a < 3; ++a) {
        if (alo[a] > bhi[a] || blo[a] > ahi[a]) return false;
    }
    return true;
}

// Ids of `truth` boxes overlapping [lo, hi], ascending (the brute-force reference).
std::vector<std::int64_t> brute_query(const Boxes& truth, const double* lo, const double* hi) {
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < truth.ids.size(); ++i) {
        if (overlaps(&truth.lo[3 * i], &truth.hi[3 * i], lo, hi)) out.push_back(truth.ids[i]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::int64_t> row(const CsrResult& r, std::size_t q) {
    return {r.ids.begin() + r.offsets[q], r.ids.begin() + r.offsets[q + 1]};
}

template <class Fn>
void run_threads(int n, Fn fn) {
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) threads.emplace_back(fn, t);
    for (auto& th : threads) th.join();
}

// (1) Lock-free readers on a frozen structure: every query kind, results equal to the
// sequential answers computed before the threads start.
void readers_only(Broadphase& bp) {
    const Boxes b = random_boxes(600, 1);
    CHECK(bp.insert(b.ids.data(), b.lo.data(), b.hi.data(), b.ids.size()).ok());
    const Boxes q = random_boxes(40, 2, 1000);
    const CsrResult want = bp.query_aabb(q.lo.data(), q.hi.data(), q.ids.size());
    std::vector<std::int64_t> want_pairs;
    bp.pairs(want_pairs);
    std::vector<double> origins(3 * 40, 0.0), dirs, max_t(40, 80.0);
    for (int i = 0; i < 40; ++i) {
        dirs.insert(dirs.end(), {std::cos(0.3 * i), 0.1, std::sin(0.3 * i)});
    }
    const CsrResult want_rays = bp.raycast(origins.data(), dirs.data(), max_t.data(), 40);
    std::atomic<int> bad{0};
    run_threads(kReaders, [&](int) {
        for (int rep = 0; rep < 5; ++rep) {
            const CsrResult got = bp.query_aabb(q.lo.data(), q.hi.data(), q.ids.size());
            std::vector<std::int64_t> pairs;
            bp.pairs(pairs);
            const CsrResult rays = bp.raycast(origins.data(), dirs.data(), max_t.data(), 40);
            std::vector<RayHit> first(40);
            bp.raycast_first(origins.data(), dirs.data(), max_t.data(), 40, first.data());
            if (got.ids != want.ids || got.offsets != want.offsets || pairs != want_pairs ||
                rays.ids != want_rays.ids || !bp.contains(b.ids[7]) || bp.size() != 600) {
                ++bad;
            }
        }
    });
    CHECK(bad.load() == 0);
    for (std::size_t i = 0; i < q.ids.size(); ++i) {
        CHECK(row(want, i) == brute_query(b, &q.lo[3 * i], &q.hi[3 * i]));
    }
}

// (2) One writer (exclusive lock) mutating while readers query under a shared lock. The
// ground truth is kept beside the structure under the same lock, so each reader compares
// its query with a brute-force answer over exactly the state it saw.
void readers_and_writer(Broadphase& bp) {
    std::shared_mutex lock;
    Boxes truth = random_boxes(300, 3);
    CHECK(bp.insert(truth.ids.data(), truth.lo.data(), truth.hi.data(), truth.ids.size()).ok());
    std::atomic<bool> done{false};
    std::atomic<int> bad{0}, reads{0};
    std::thread writer([&] {
        std::mt19937_64 rng(4);
        std::int64_t next_id = 10000;
        for (int step = 0; step < 60; ++step) {
            std::unique_lock<std::shared_mutex> guard(lock);
            // Move 20 boxes, remove 10 (the oldest), insert 10 new ones.
            Boxes moved;
            for (int k = 0; k < 20; ++k) {
                const std::size_t i = rng() % truth.ids.size();
                if (std::find(moved.ids.begin(), moved.ids.end(), truth.ids[i]) !=
                    moved.ids.end()) {
                    continue;
                }
                for (int a = 0; a < 3; ++a) {
                    truth.lo[3 * i + a] += 0.5;
                    truth.hi[3 * i + a] += 0.5;
                }
                moved.ids.push_back(truth.ids[i]);
                moved.lo.insert(moved.lo.end(), &truth.lo[3 * i], &truth.lo[3 * i] + 3);
                moved.hi.insert(moved.hi.end(), &truth.hi[3 * i], &truth.hi[3 * i] + 3);
            }
            if (!bp.update(moved.ids.data(), moved.lo.data(), moved.hi.data(), moved.ids.size())
                     .ok()) {
                ++bad;
            }
            std::vector<std::int64_t> gone(truth.ids.begin(), truth.ids.begin() + 10);
            if (!bp.remove(gone.data(), gone.size()).ok()) ++bad;
            truth.ids.erase(truth.ids.begin(), truth.ids.begin() + 10);
            truth.lo.erase(truth.lo.begin(), truth.lo.begin() + 30);
            truth.hi.erase(truth.hi.begin(), truth.hi.begin() + 30);
            const Boxes fresh = random_boxes(10, 100 + step, next_id);
            next_id += 10;
            if (!bp.insert(fresh.ids.data(), fresh.lo.data(), fresh.hi.data(), 10).ok()) ++bad;
            truth.ids.insert(truth.ids.end(), fresh.ids.begin(), fresh.ids.end());
            truth.lo.insert(truth.lo.end(), fresh.lo.begin(), fresh.lo.end());
            truth.hi.insert(truth.hi.end(), fresh.hi.begin(), fresh.hi.end());
            guard.unlock();
            std::this_thread::yield();  // let the readers in between writes
        }
        done = true;
    });
    run_threads(kReaders, [&](int t) {
        const Boxes q = random_boxes(8, 50 + t, 0);
        for (int rep = 0; keep_reading(done, rep); ++rep) {
            pause();
            std::shared_lock<std::shared_mutex> guard(lock);
            const CsrResult got = bp.query_aabb(q.lo.data(), q.hi.data(), q.ids.size());
            for (std::size_t i = 0; i < q.ids.size(); ++i) {
                if (row(got, i) != brute_query(truth, &q.lo[3 * i], &q.hi[3 * i])) ++bad;
            }
            std::vector<std::int64_t> pairs;
            bp.pairs(pairs);
            if (bp.size() != truth.ids.size()) ++bad;
            ++reads;
        }
    });
    writer.join();
    CHECK(bad.load() == 0);
    CHECK(reads.load() >= kMinReads * kReaders);
    CHECK(bp.check_invariants());
}

// (3a) Octree: readers each run batch queries that start their own workers, while a writer
// moves points under the exclusive lock. Results are compared with brute force.
void octree_readers_and_writer() {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> pos(-40.0, 40.0);
    const std::size_t n = 2000;
    std::vector<double> pts(3 * n);
    for (double& v : pts) v = pos(rng);
    std::vector<std::int64_t> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i);
    Octree tree;
    CHECK(tree.build(pts.data(), ids.data(), n).ok());
    std::shared_mutex lock;
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::thread writer([&] {
        for (int step = 0; step < 30; ++step) {
            std::unique_lock<std::shared_mutex> guard(lock);
            std::vector<std::int64_t> mv;
            std::vector<double> at;
            for (int k = 0; k < 50; ++k) {
                const std::int64_t id = static_cast<std::int64_t>((step * 50 + k * 37) % n);
                if (std::find(mv.begin(), mv.end(), id) != mv.end()) continue;
                mv.push_back(id);
                for (int a = 0; a < 3; ++a) {
                    pts[3 * id + a] = pos(rng);
                    at.push_back(pts[3 * id + a]);
                }
            }
            if (!tree.move(mv.data(), at.data(), mv.size()).ok()) ++bad;
            guard.unlock();
            std::this_thread::yield();
        }
        done = true;
    });
    run_threads(kReaders, [&](int t) {
        std::vector<double> q(3 * 16);
        std::mt19937_64 qrng(60 + t);
        for (double& v : q) v = pos(qrng);
        const double r = 6.0;
        for (int rep = 0; keep_reading(done, rep); ++rep) {
            pause();
            std::shared_lock<std::shared_mutex> guard(lock);
            std::vector<std::int64_t> off, got;
            tree.radius(q.data(), 16, &r, 0, 2, off, got);
            std::vector<double> kd(16 * 4);
            std::vector<std::int64_t> kid(16 * 4);
            tree.knn(q.data(), 16, 4, 2, kd.data(), kid.data());
            for (std::size_t i = 0; i < 16; ++i) {
                std::vector<std::int64_t> want;
                std::vector<double> d2;
                for (std::size_t j = 0; j < n; ++j) {
                    double s = 0;
                    for (int a = 0; a < 3; ++a) {
                        const double d = pts[3 * j + a] - q[3 * i + a];
                        s += d * d;
                    }
                    if (s <= r * r) want.push_back(static_cast<std::int64_t>(j));
                    d2.push_back(s);
                }
                if (std::vector<std::int64_t>(got.begin() + off[i], got.begin() + off[i + 1]) !=
                    want) {
                    ++bad;
                }
                std::nth_element(d2.begin(), d2.begin() + 3, d2.end());
                if (std::abs(kd[4 * i + 3] * kd[4 * i + 3] - d2[3]) > 1e-9) ++bad;
            }
        }
    });
    writer.join();
    CHECK(bad.load() == 0);
    CHECK(tree.check_invariants());
}

// (3b) grid_paths_batch with 2 workers from several threads at once on one shared grid.
void paths_batch_concurrent() {
    const std::int64_t side = 48;
    std::vector<std::uint8_t> cells(side * side, 1);
    for (std::int64_t r = 4; r < side - 4; ++r) cells[r * side + side / 2] = 0;  // a wall
    GridView g;
    g.passable = cells.data();
    g.rows = side;
    g.cols = side;
    std::vector<std::int64_t> starts, goals;
    for (std::int64_t i = 0; i < 24; ++i) {
        starts.push_back((i % side) * side + 1);
        goals.push_back(((i * 7) % side) * side + side - 2);
    }
    std::vector<double> want(starts.size());
    grid_paths_batch(g, starts.data(), goals.data(), starts.size(), PathMethod::kAstar,
                     PathSettings{}, 1, want.data(), nullptr);
    std::atomic<int> bad{0};
    run_threads(kReaders, [&](int t) {
        std::vector<double> got(starts.size());
        const PathMethod m = (t % 2) ? PathMethod::kJps : PathMethod::kAstar;
        grid_paths_batch(g, starts.data(), goals.data(), starts.size(), m, PathSettings{}, 2,
                         got.data(), nullptr);
        for (std::size_t i = 0; i < got.size(); ++i) {
            if (std::abs(got[i] - want[i]) > 1e-9) ++bad;
        }
    });
    CHECK(bad.load() == 0);
    for (double c : want) CHECK(std::isfinite(c));
}

// (3c) kd_partition with 2 workers (enough entities that it really splits subtrees onto
// threads) from two threads at once; both equal the single-worker partition.
void shard_partition_concurrent() {
    const std::size_t n = 140000;
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> pos(-1000.0, 1000.0);
    std::vector<double> p(3 * n);
    for (double& v : p) v = pos(rng);
    const int servers = 8;
    std::vector<std::int32_t> want(n);
    std::vector<double> want_regions(servers * 6);
    std::vector<KdNode> nodes(servers - 1);
    kd_partition(p.data(), nullptr, n, servers, want.data(), want_regions.data(), nodes.data(),
                 1);
    std::atomic<int> bad{0};
    run_threads(2, [&](int) {
        std::vector<std::int32_t> got(n);
        std::vector<double> regions(servers * 6);
        std::vector<KdNode> my_nodes(servers - 1);
        kd_partition(p.data(), nullptr, n, servers, got.data(), regions.data(), my_nodes.data(),
                     2);
        if (got != want || regions != want_regions) ++bad;
    });
    CHECK(bad.load() == 0);
    std::vector<std::size_t> per(servers, 0);
    for (std::int32_t s : want) ++per[s];
    for (std::size_t c : per) CHECK(c == n / servers);  // equal weights: equal counts
}

}  // namespace

int main() {
    {
        SpatialHash a;
        readers_only(a);
        SweepAndPrune b;
        readers_only(b);
        DynamicTree c;
        readers_only(c);
    }
    {
        SpatialHash a;
        readers_and_writer(a);
        SweepAndPrune b;
        readers_and_writer(b);
        DynamicTree c;
        readers_and_writer(c);
    }
    octree_readers_and_writer();
    paths_batch_concurrent();
    shard_partition_concurrent();
    TEST_MAIN_END();
}
