// SPDX-License-Identifier: MIT
// libFuzzer harness: stateful spatial structures (SpatialHash, SweepAndPrune, DynamicTree,
// Octree, Quadtree) driven by an arbitrary sequence of insert / update / move / remove /
// query calls with arbitrary ids and boxes. Mutations go straight to the core (which must
// reject bad batches and stay unchanged); queries are validated first, as the bindings do.
// Findings: sanitizer reports, a rejected batch that changed the structure, broken invariants,
// unsorted or out-of-range query output.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <vector>

#include "fbsim/broadphase.hpp"
#include "fbsim/octree.hpp"
#include "fbsim/validate.hpp"
#include "fuzz_input.hpp"

namespace {

std::vector<std::int64_t> ids(fuzz::Input& in, std::size_t n) {
    std::vector<std::int64_t> out(n);
    for (auto& id : out) {
        const std::uint8_t b = in.byte();
        id = b < 250 ? static_cast<std::int64_t>(b % 24) - 2 : (b == 250 ? INT64_MIN : INT64_MAX);
    }
    return out;
}

std::vector<double> values(fuzz::Input& in, std::size_t n) {
    std::vector<double> v(n);
    for (auto& x : v) x = in.value();
    return v;
}

bool valid(const std::vector<double>& v, std::size_t cols) {
    return fbsim::first_invalid(v.data(), v.size() / cols, cols, fbsim::kMaxCoordinate).ok();
}

void check_csr(const std::vector<std::int64_t>& offsets, const std::vector<std::int64_t>& out,
               std::size_t queries) {
    if (offsets.size() != queries + 1 || offsets.front() != 0 ||
        offsets.back() != static_cast<std::int64_t>(out.size()))
        fuzz::fail("CSR offsets malformed");
    for (std::size_t q = 0; q < queries; ++q)
        if (!std::is_sorted(out.begin() + offsets[q], out.begin() + offsets[q + 1]))
            fuzz::fail("query ids not sorted");
}

void run_broadphase(fuzz::Input& in, fbsim::Broadphase& bp) {
    while (!in.done()) {
        const std::size_t n = in.below(6);
        const auto id = ids(in, n);
        auto lo = values(in, 3 * n), hi = values(in, 3 * n);
        if (in.below(4)) for (std::size_t i = 0; i < lo.size(); ++i) hi[i] = lo[i] + std::fabs(hi[i]);
        const std::size_t before = bp.size();
        std::vector<std::int64_t> pairs_before;
        bp.pairs(pairs_before);
        fbsim::BroadphaseStatus st;
        const int bop = static_cast<int>(in.below(6));
        switch (bop) {
            case 0: case 1: st = bp.insert(id.data(), lo.data(), hi.data(), n); break;
            case 2: st = bp.update(id.data(), lo.data(), hi.data(), n); break;
            case 3: st = bp.remove(id.data(), n); break;
            case 4: {
                if (!valid(lo, 3) || !valid(hi, 3)) break;
                for (std::size_t i = 0; i < lo.size(); ++i) hi[i] = std::max(hi[i], lo[i]);
                const auto r = bp.query_aabb(lo.data(), hi.data(), n);
                check_csr(r.offsets, r.ids, n);
                break;
            }
            default: {
                if (!valid(lo, 3) || !valid(hi, 3)) break;
                std::vector<double> max_t(n, 50.0);
                for (std::size_t i = 0; i < n; ++i)
                    if (std::fabs(hi[3 * i]) + std::fabs(hi[3 * i + 1]) + std::fabs(hi[3 * i + 2]) < 1e-6)
                        hi[3 * i] = 1.0;  // the binding rejects zero directions
                const auto r = bp.raycast(lo.data(), hi.data(), max_t.data(), n);
                check_csr(r.offsets, r.ids, n);
                std::vector<fbsim::RayHit> hits(n);
                bp.raycast_first(lo.data(), hi.data(), max_t.data(), n, hits.data());
            }
        }
        if (!st.ok()) {
            std::vector<std::int64_t> pairs_after;
            bp.pairs(pairs_after);
            if (bp.size() != before || pairs_after != pairs_before)
                fuzz::fail("rejected broad-phase batch changed the structure");
        }
        if (std::getenv("FUZZ_TRACE") || !bp.check_invariants()) {
            std::fprintf(stderr, "bp op %d code %d n %zu size %zu -> %zu\n", bop,
                         static_cast<int>(st.code), n, before, bp.size());
            for (std::size_t i = 0; i < n; ++i)
                std::fprintf(stderr, "  id %lld: %a %a %a / %a %a %a\n", static_cast<long long>(id[i]),
                             lo[3 * i], lo[3 * i + 1], lo[3 * i + 2], hi[3 * i], hi[3 * i + 1], hi[3 * i + 2]);
        }
        if (!bp.check_invariants()) fuzz::fail("broad-phase invariants broken");
    }
}

template <int D>
void run_tree(fuzz::Input& in, bool boxes) {
    fbsim::SpatialTree<D> tree(boxes);
    const std::size_t width = boxes ? 2 * D : D;
    while (!in.done()) {
        const std::size_t n = in.below(6);
        const auto id = ids(in, n);
        auto items = values(in, width * n);
        if (boxes && in.below(4))
            for (std::size_t i = 0; i < n; ++i)
                for (int k = 0; k < D; ++k)
                    items[width * i + D + k] = items[width * i + k] + std::fabs(items[width * i + D + k]);
        const std::size_t before = tree.size();
        const auto ids_before = tree.ids();
        if (std::getenv("FUZZ_TRACE")) std::fprintf(stderr, "pre inv %d nodes %zu\n", (int)tree.check_invariants(), tree.node_count());
        fbsim::TreeStatus st;
        int op = 0;
        const int workers = 1 + static_cast<int>(in.below(3));
        switch (op = static_cast<int>(in.below(7))) {
            case 0: st = tree.build(items.data(), id.data(), n); break;
            case 1: case 2: st = tree.insert(id.data(), items.data(), n); break;
            case 3: st = tree.move(id.data(), items.data(), n); break;
            case 4: st = tree.remove(id.data(), n); break;
            case 5: {
                auto q = values(in, D * n);
                if (!valid(q, D)) break;
                // knn's precondition (the binding checks it): 1 <= k <= size.
                const std::size_t k = tree.size() ? 1 + in.below(std::min<std::size_t>(5, tree.size())) : 0;
                if (k == 0) break;
                std::vector<double> dist(n * k);
                std::vector<std::int64_t> out(n * k);
                tree.knn(q.data(), n, k, workers, dist.data(), out.data());
                std::vector<double> r(1, std::fabs(in.value()));
                if (!valid(r, 1)) break;
                std::vector<std::int64_t> offs, got;
                tree.radius(q.data(), n, r.data(), 0, workers, offs, got);
                check_csr(offs, got, n);
                break;
            }
            default: {
                auto lo = values(in, D * n), ext = values(in, D * n);
                if (!valid(lo, D) || !valid(ext, D)) break;
                std::vector<double> hi(lo.size());
                for (std::size_t i = 0; i < lo.size(); ++i) hi[i] = lo[i] + std::fabs(ext[i]);
                if (!valid(hi, D)) break;
                std::vector<std::int64_t> offs, got;
                tree.query_aabb(lo.data(), hi.data(), n, workers, offs, got);
                check_csr(offs, got, n);
            }
        }
        if (std::getenv("FUZZ_TRACE")) {
            std::fprintf(stderr, "op %d code %d n %zu size %zu -> %zu\n", op,
                         static_cast<int>(st.code), n, before, tree.size());
            for (std::size_t i = 0; i < n; ++i) {
                std::fprintf(stderr, "  id %lld:", static_cast<long long>(id[i]));
                for (std::size_t k = 0; k < width; ++k) std::fprintf(stderr, " %a", items[width * i + k]);
                std::fprintf(stderr, "\n");
            }
        }
        if (!st.ok() && (tree.size() != before || tree.ids() != ids_before)) {
            __builtin_printf("op %d code %d index %zu: size %zu -> %zu\n", op,
                             static_cast<int>(st.code), st.index, before, tree.size());
            fuzz::fail("rejected tree batch changed the structure");
        }
        if (!tree.check_invariants()) {
            std::fprintf(stderr, "D=%d boxes=%d op %d code %d n %zu size %zu -> %zu\n", D,
                         boxes ? 1 : 0, op, static_cast<int>(st.code), n, before, tree.size());
            for (std::size_t i = 0; i < n; ++i) {
                std::fprintf(stderr, "  id %lld:", static_cast<long long>(id[i]));
                for (std::size_t k = 0; k < width; ++k) std::fprintf(stderr, " %a", items[width * i + k]);
                std::fprintf(stderr, "\n");
            }
            fuzz::fail("tree invariants broken");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    switch (in.below(6)) {
        case 0: {
            const double cell = in.below(2) ? 0.0 : std::fabs(in.value());
            if (!(cell >= 0.0 && cell <= fbsim::kMaxCoordinate)) return 0;
            fbsim::SpatialHash h(cell);
            // A small side-buffer cap for two inputs in three, so that merges and tombstones
            // happen within the fuzzer's short call sequences. Taken from the input length,
            // not from its bytes, so that the stored corpus decodes as before.
            if (size % 3 != 0) h.set_buffer_cap(size % 7);
            run_broadphase(in, h);
            break;
        }
        case 1: { fbsim::SweepAndPrune s(static_cast<int>(in.below(3))); run_broadphase(in, s); break; }
        case 2: { fbsim::DynamicTree t(in.below(4) * 0.1); run_broadphase(in, t); break; }
        case 3: run_tree<3>(in, false); break;
        case 4: run_tree<3>(in, true); break;
        default: run_tree<2>(in, in.below(2) == 0);
    }
    return 0;
}
