// SPDX-License-Identifier: MIT
// fbsim: the loose 2^D-ary tree behind Octree (octree.cpp) and Quadtree (quadtree.cpp).
//
// Sources: loose octree after Ulrich, "Loose Octrees" (Game Programming Gems 1, 2000, 4.11):
// an item goes to the deepest cell that contains its centre and is at least as large as the
// item, so cells never split items. Deviations: (1) leaves are buckets that split past
// kTreeLeafCapacity (adaptive, as in Samet, "Foundations of Multidimensional and Metric Data
// Structures" 2006, 1.4 bucket PR quadtrees) instead of a fixed-depth grid of cells; (2) each
// node prunes with exact, grown bounds of its subtree instead of the 2x loose cell, which for
// points is as tight as a kd-tree's bounds after a bulk build; (3) the root grows upward when an
// item lands outside it. Queries: depth-first, children visited nearest first, with the k-best
// pruning of Friedman, Bentley & Finkel (1977); ray slabs after Kay & Kajiya (1986) / Williams
// et al. (2005) with the parallel-axis case handled explicitly.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fbsim/octree.hpp"
#include "fbsim/validate.hpp"

namespace fbsim::detail {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

/// Splits [0, count) into `workers` contiguous chunks, one std::thread each (the caller runs the
/// first). Chunks do not share output, so results are identical for any worker count. An
/// exception in any chunk (std::bad_alloc from a huge result) is rethrown here after every
/// thread has joined, never left to std::terminate.
template <class Fn>
void parallel_chunks(std::size_t count, int workers, Fn&& fn) {
    std::size_t w = workers < 1 ? 1 : static_cast<std::size_t>(workers);
    // Small batches are not worth a thread each.
    w = std::min(w, std::max<std::size_t>(1, count / 64));
    if (w <= 1) {
        fn(std::size_t{0}, std::size_t{0}, count);
        return;
    }
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(w);
    threads.reserve(w - 1);
    const std::size_t step = (count + w - 1) / w;
    auto guarded = [&fn, &errors](std::size_t t, std::size_t b, std::size_t e) {
        try {
            fn(t, b, e);
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    for (std::size_t t = 1; t < w; ++t) {
        const std::size_t b = std::min(count, t * step), e = std::min(count, b + step);
        try {
            threads.emplace_back(guarded, t, b, e);
        } catch (...) {  // could not start a thread: run that chunk here instead
            guarded(t, b, e);
        }
    }
    guarded(0, 0, std::min(count, step));
    for (auto& th : threads) th.join();
    for (auto& err : errors)
        if (err) std::rethrow_exception(err);
}

// Insertion sort for the <= 8 child entries of one node: cheaper than std::sort at this size.
inline void sort_small(std::pair<double, int>* a, int m) {
    for (int i = 1; i < m; ++i) {
        const std::pair<double, int> v = a[i];
        int j = i;
        for (; j > 0 && v < a[j - 1]; --j) a[j] = a[j - 1];
        a[j] = v;
    }
}

// id -> slot. Game ids are mostly small and dense (0..n-1 entity indices), so those live in a
// flat array (one load, no hashing); any other int64 goes to a hash map. The array grows
// geometrically but never past 2 * size + 1024 entries, so hostile ids cannot blow up memory.
// Named TreeIdMap, not IdMap: broadphase.hpp declares a different fbsim::detail::IdMap, and
// two classes of one name with inline members are an ODR violation: the linker kept one set of
// inline bodies for both, so a binary linking the broad phase and the octree got a corrupted
// tree (tests/test_packaging.py now checks inline symbol sizes; issue 10).
class TreeIdMap {
public:
    std::int32_t find(std::int64_t id) const {
        if (id >= 0 && static_cast<std::uint64_t>(id) < dense_.size())
            return dense_[static_cast<std::size_t>(id)];
        auto it = sparse_.find(id);
        return it == sparse_.end() ? -1 : it->second;
    }
    bool contains(std::int64_t id) const { return find(id) >= 0; }
    std::size_t size() const { return count_; }
    void reserve(std::size_t n, std::int64_t max_id) {
        if (max_id >= 0 && static_cast<std::uint64_t>(max_id) < 2 * n + 1024)
            grow_dense(static_cast<std::size_t>(max_id) + 1);
    }
    void add(std::int64_t id, std::int32_t slot) {
        ++count_;
        if (id >= 0 && static_cast<std::uint64_t>(id) >= dense_.size() &&
            static_cast<std::uint64_t>(id) < 2 * count_ + 1024)
            grow_dense(std::max(static_cast<std::size_t>(id) + 1, dense_.size() + dense_.size() / 2));
        if (id >= 0 && static_cast<std::uint64_t>(id) < dense_.size())
            dense_[static_cast<std::size_t>(id)] = slot;
        else
            sparse_.emplace(id, slot);
    }
    void erase(std::int64_t id) {
        --count_;
        if (id >= 0 && static_cast<std::uint64_t>(id) < dense_.size())
            dense_[static_cast<std::size_t>(id)] = -1;
        else
            sparse_.erase(id);
    }
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (std::size_t i = 0; i < dense_.size(); ++i)
            if (dense_[i] >= 0) fn(static_cast<std::int64_t>(i), dense_[i]);
        for (const auto& kv : sparse_) fn(kv.first, kv.second);
    }

private:
    // Ids that now fall inside the array move over from the hash map, so find() stays exact.
    void grow_dense(std::size_t n) {
        if (n <= dense_.size()) return;
        const std::size_t old = dense_.size();
        dense_.resize(n, -1);
        for (auto it = sparse_.begin(); it != sparse_.end();) {
            if (it->first >= 0 && static_cast<std::uint64_t>(it->first) >= old &&
                static_cast<std::uint64_t>(it->first) < n) {
                dense_[static_cast<std::size_t>(it->first)] = it->second;
                it = sparse_.erase(it);
            } else {
                ++it;
            }
        }
    }
    std::vector<std::int32_t> dense_;
    std::unordered_map<std::int64_t, std::int32_t> sparse_;
    std::size_t count_ = 0;
};

template <int D, bool kBoxes>
struct TreeImpl {
    static constexpr int kChildren = 1 << D;
    static constexpr std::size_t kLeaf = kBoxes ? kTreeBoxLeafCapacity : kTreeLeafCapacity;

    // Points store D doubles, boxes 2D (lo then hi): a point entry is 32 bytes in 3D instead
    // of 56, which is most of the kNN and build time (leaf scans stream entries).
    struct Entry {
        double v[kBoxes ? 2 * D : D];
        std::int32_t slot;
        double* lo() { return v; }
        const double* lo() const { return v; }
        double* hi() { return kBoxes ? v + D : v; }
        const double* hi() const { return kBoxes ? v + D : v; }
    };

    // Field order matters: queries test a child with blo, bhi, count and first_child only, and
    // in 3D those are exactly the first 64-byte cache line of an aligned node.
    struct alignas(64) Node {
        double blo[D];  // conservative bounds of every item in the subtree (grown)
        double bhi[D];
        std::int64_t count = 0;         // items in the subtree
        std::int32_t first_child = -1;  // children are a block of kChildren nodes
        std::int32_t parent = -1;
        std::vector<Entry> items;
        double center[D];
        double half = 0.0;  // cubic cell: center +- half on every axis

        bool leaf() const { return first_child < 0; }
        void clear_bounds() {
            for (int a = 0; a < D; ++a) {
                blo[a] = kInf;
                bhi[a] = -kInf;
            }
        }
        void grow(const double* lo, const double* hi) {
            for (int a = 0; a < D; ++a) {
                blo[a] = std::min(blo[a], lo[a]);
                bhi[a] = std::max(bhi[a], hi[a]);
            }
        }
        bool bounds_contain(const double* lo, const double* hi) const {
            for (int a = 0; a < D; ++a)
                if (lo[a] < blo[a] || hi[a] > bhi[a]) return false;
            return true;
        }
    };

    struct Slot {
        std::int64_t id = 0;
        std::int32_t node = -1;  // -1: free slot
        std::int32_t pos = 0;    // index in nodes[node].items
    };

    static constexpr bool boxes = kBoxes;
    std::vector<Node> nodes;
    std::vector<std::int32_t> free_blocks;  // first index of unused child blocks
    std::vector<Slot> slots;
    std::vector<std::int32_t> free_slots;
    TreeIdMap id_to_slot;
    std::vector<std::uint32_t> stamp_;  // per slot: last batch that named it (duplicate check)
    std::uint32_t epoch_ = 0;

    TreeImpl() { reset_root(nullptr, 1.0); }

    std::size_t width() const { return boxes ? 2 * D : D; }
    std::size_t size() const { return id_to_slot.size(); }

    // ---------------------------------------------------------------- geometry of one row
    void row_box(const double* row, double* lo, double* hi) const {
        for (int a = 0; a < D; ++a) {
            lo[a] = row[a];
            hi[a] = boxes ? row[D + a] : row[a];
        }
    }
    static void centre_ext(const double* lo, const double* hi, double* c, double& ext) {
        ext = 0.0;
        for (int a = 0; a < D; ++a) {
            c[a] = 0.5 * lo[a] + 0.5 * hi[a];  // no overflow, exact for points
            ext = std::max(ext, 0.5 * (hi[a] - lo[a]));
        }
    }
    bool in_cell(const Node& n, const double* c) const {
        for (int a = 0; a < D; ++a)
            if (c[a] < n.center[a] - n.half || c[a] > n.center[a] + n.half) return false;
        return true;
    }
    static int child_code(const Node& n, const double* c) {
        int code = 0;
        for (int a = 0; a < D; ++a)
            if (c[a] >= n.center[a]) code |= 1 << a;
        return code;
    }

    void reset_root(const double* center, double half) {
        nodes.clear();
        free_blocks.clear();
        nodes.emplace_back();
        Node& r = nodes[0];
        for (int a = 0; a < D; ++a) r.center[a] = center ? center[a] : 0.0;
        r.half = half;
        r.clear_bounds();
    }

    // A block of kChildren empty children for `parent`, reusing freed blocks first.
    std::int32_t alloc_children(std::int32_t parent) {
        std::int32_t first;
        if (!free_blocks.empty()) {
            first = free_blocks.back();
            free_blocks.pop_back();
        } else {
            first = static_cast<std::int32_t>(nodes.size());
            nodes.resize(nodes.size() + kChildren);
        }
        const Node& p = nodes[static_cast<std::size_t>(parent)];
        const double h = 0.5 * p.half;
        for (int c = 0; c < kChildren; ++c) {
            Node& ch = nodes[static_cast<std::size_t>(first + c)];
            for (int a = 0; a < D; ++a)
                ch.center[a] = p.center[a] + ((c >> a) & 1 ? h : -h);
            ch.half = h;
            ch.first_child = -1;
            ch.parent = parent;
            ch.count = 0;
            ch.items.clear();
            ch.clear_bounds();
        }
        return first;
    }

    void place(std::int32_t node, const Entry& e) {
        Node& n = nodes[static_cast<std::size_t>(node)];
        Slot& s = slots[static_cast<std::size_t>(e.slot)];
        s.node = node;
        s.pos = static_cast<std::int32_t>(n.items.size());
        n.items.push_back(e);
    }

    // ---------------------------------------------------------------- bulk build
    std::vector<Entry> tmp_;

    // Builds the subtree of node ni over src[b, e). The caller has set ni's count and bounds.
    // Partitions ping-pong between src and dst (no copy back), and child bounds are gathered
    // in the same pass, so each level streams the entries exactly once.
    // Bulk build: entries arrive with their input row in `slot`; slots are numbered in tree
    // order instead, so the slot table is written sequentially (a random write per item into a
    // 16-byte-per-item table was a large part of the build).
    const std::int64_t* build_ids_ = nullptr;
    std::int32_t next_slot_ = 0;
    void place_built(std::int32_t node, Entry e) {
        const auto row = static_cast<std::size_t>(e.slot);
        const std::int32_t si = next_slot_++;
        const std::int64_t id = build_ids_ ? build_ids_[row] : static_cast<std::int64_t>(row);
        slots[static_cast<std::size_t>(si)].id = id;
        id_to_slot.add(id, si);
        e.slot = si;
        place(node, e);
    }

    void build_node(std::int32_t ni, Entry* src, Entry* dst, std::size_t b, std::size_t e,
                    int depth) {
        if (e - b <= kLeaf || depth >= kTreeMaxDepth) {
            nodes[static_cast<std::size_t>(ni)].items.reserve(e - b);
            for (std::size_t i = b; i < e; ++i) place_built(ni, src[i]);
            return;
        }
        // Counting sort by child code; code kChildren = too large for a child, stays here.
        std::size_t bucket[kChildren + 2] = {};
        double clo[kChildren][D], chi[kChildren][D];
        for (int k = 0; k < kChildren; ++k)
            for (int a = 0; a < D; ++a) {
                clo[k][a] = kInf;
                chi[k][a] = -kInf;
            }
        std::vector<std::uint8_t> code(e - b);
        {
            const Node& n = nodes[static_cast<std::size_t>(ni)];
            const double limit = 0.5 * n.half;
            for (std::size_t i = b; i < e; ++i) {
                double c[D], ext;
                centre_ext(src[i].lo(), src[i].hi(), c, ext);
                int k = kChildren;
                if (ext <= limit) {
                    k = child_code(n, c);
                    for (int a = 0; a < D; ++a) {
                        clo[k][a] = std::min(clo[k][a], src[i].lo()[a]);
                        chi[k][a] = std::max(chi[k][a], src[i].hi()[a]);
                    }
                }
                code[i - b] = static_cast<std::uint8_t>(k);
                ++bucket[k + 1];
            }
        }
        for (int k = 0; k <= kChildren; ++k) bucket[k + 1] += bucket[k];
        std::size_t fill[kChildren + 1];
        std::copy(bucket, bucket + kChildren + 1, fill);
        for (std::size_t i = b; i < e; ++i) dst[b + fill[code[i - b]]++] = src[i];
        code.clear();
        code.shrink_to_fit();
        // Large items stay at this node.
        const std::size_t stay_b = b + bucket[kChildren], stay_e = b + bucket[kChildren + 1];
        for (std::size_t i = stay_b; i < stay_e; ++i) place_built(ni, dst[i]);
        const std::int32_t first = alloc_children(ni);
        nodes[static_cast<std::size_t>(ni)].first_child = first;
        for (int k = 0; k < kChildren; ++k) {
            Node& ch = nodes[static_cast<std::size_t>(first + k)];
            ch.count = static_cast<std::int64_t>(bucket[k + 1] - bucket[k]);
            for (int a = 0; a < D; ++a) {
                ch.blo[a] = clo[k][a];
                ch.bhi[a] = chi[k][a];
            }
        }
        for (int k = 0; k < kChildren; ++k)
            build_node(first + k, dst, src, b + bucket[k], b + bucket[k + 1], depth + 1);
    }

    void build_all(std::vector<Entry>& es) {
        // Root cell: the cube around all item centres (with a margin so none sits on the edge).
        double lo[D], hi[D];
        for (int a = 0; a < D; ++a) {
            lo[a] = kInf;
            hi[a] = -kInf;
        }
        for (const Entry& e : es) {
            double c[D], ext;
            centre_ext(e.lo(), e.hi(), c, ext);
            for (int a = 0; a < D; ++a) {
                lo[a] = std::min(lo[a], c[a]);
                hi[a] = std::max(hi[a], c[a]);
            }
        }
        double center[D], half = 0.0;
        for (int a = 0; a < D; ++a) {
            if (es.empty()) lo[a] = hi[a] = 0.0;
            center[a] = 0.5 * lo[a] + 0.5 * hi[a];
            half = std::max(half, 0.5 * (hi[a] - lo[a]));
        }
        // Degenerate data (all equal) still gets a cell of positive size.
        half = std::max(half * (1.0 + 1e-9), 1e-3);
        reset_root(center, half);
        tmp_.resize(es.size());
        Node& root = nodes[0];
        root.count = static_cast<std::int64_t>(es.size());
        for (const Entry& e : es) root.grow(e.lo(), e.hi());
        if (!es.empty()) build_node(0, es.data(), tmp_.data(), 0, es.size(), 0);
        tmp_.clear();
        tmp_.shrink_to_fit();
    }

    // ---------------------------------------------------------------- incremental updates
    // Grows the root upward until its cell contains c (at most ~60 doublings within the world).
    void grow_root(const double* c) {
        for (int guard = 0; guard < 200 && !in_cell(nodes[0], c); ++guard) {
            Node& r = nodes[0];
            if (r.count == 0 && r.leaf()) {
                for (int a = 0; a < D; ++a) r.center[a] = c[a];
                return;
            }
            // New root twice as large; the old root becomes the child on c's far side.
            double nc[D];
            int old_code = 0;
            for (int a = 0; a < D; ++a) {
                if (c[a] < r.center[a]) {
                    nc[a] = r.center[a] - r.half;
                    old_code |= 1 << a;
                } else {
                    nc[a] = r.center[a] + r.half;
                }
            }
            Node old = std::move(nodes[0]);
            Node& root = nodes[0];
            root = Node{};
            for (int a = 0; a < D; ++a) root.center[a] = nc[a];
            root.half = 2.0 * old.half;
            root.count = old.count;
            for (int a = 0; a < D; ++a) {
                root.blo[a] = old.blo[a];
                root.bhi[a] = old.bhi[a];
            }
            const std::int32_t first = alloc_children(0);
            nodes[0].first_child = first;
            const std::int32_t moved = first + old_code;
            Node& m = nodes[static_cast<std::size_t>(moved)];
            // Keep the exact old cell (a computed child centre could round differently).
            m = std::move(old);
            m.parent = 0;
            for (std::size_t p = 0; p < m.items.size(); ++p)
                slots[static_cast<std::size_t>(m.items[p].slot)].node = moved;
            if (!m.leaf())
                for (int k = 0; k < kChildren; ++k)
                    nodes[static_cast<std::size_t>(m.first_child + k)].parent = moved;
        }
    }

    void split(std::int32_t ni, int depth) {
        const std::int32_t first = alloc_children(ni);
        Node& n = nodes[static_cast<std::size_t>(ni)];
        n.first_child = first;
        std::vector<Entry> keep;
        std::vector<Entry> old = std::move(n.items);
        n.items.clear();
        for (const Entry& e : old) {
            double c[D], ext;
            centre_ext(e.lo(), e.hi(), c, ext);
            const Node& nn = nodes[static_cast<std::size_t>(ni)];
            if (ext <= 0.5 * nn.half) {
                const std::int32_t ci = first + child_code(nn, c);
                Node& ch = nodes[static_cast<std::size_t>(ci)];
                ch.count += 1;
                ch.grow(e.lo(), e.hi());
                place(ci, e);
            } else {
                place(ni, e);
            }
        }
        for (int k = 0; k < kChildren; ++k) {
            const Node& ch = nodes[static_cast<std::size_t>(first + k)];
            if (ch.items.size() > kLeaf && depth + 1 < kTreeMaxDepth)
                split(first + k, depth + 1);
        }
    }

    void insert_entry(const Entry& e) {
        double c[D], ext;
        centre_ext(e.lo(), e.hi(), c, ext);
        grow_root(c);
        std::int32_t ni = 0;
        for (int depth = 0;; ++depth) {
            Node& n = nodes[static_cast<std::size_t>(ni)];
            n.count += 1;
            n.grow(e.lo(), e.hi());
            if (n.leaf()) {
                place(ni, e);
                if (n.items.size() > kLeaf && depth < kTreeMaxDepth) split(ni, depth);
                return;
            }
            if (ext <= 0.5 * n.half) {
                ni = n.first_child + child_code(n, c);
                continue;
            }
            place(ni, e);
            return;
        }
    }

    // Returns every item of the subtree under ni to ni's own list and frees the child blocks.
    void collapse(std::int32_t ni) {
        std::vector<std::int32_t> stack;
        std::vector<Entry> gathered;
        stack.push_back(nodes[static_cast<std::size_t>(ni)].first_child);
        while (!stack.empty()) {
            const std::int32_t first = stack.back();
            stack.pop_back();
            for (int k = 0; k < kChildren; ++k) {
                Node& ch = nodes[static_cast<std::size_t>(first + k)];
                gathered.insert(gathered.end(), ch.items.begin(), ch.items.end());
                ch.items.clear();
                ch.items.shrink_to_fit();
                if (!ch.leaf()) stack.push_back(ch.first_child);
                ch.first_child = -1;
            }
            free_blocks.push_back(first);
        }
        Node& n = nodes[static_cast<std::size_t>(ni)];
        n.first_child = -1;
        for (const Entry& e : gathered) place(ni, e);
        // Re-tighten the bounds: merging is the moment stale (grown) bounds get fixed.
        Node& m = nodes[static_cast<std::size_t>(ni)];
        m.clear_bounds();
        for (const Entry& e : m.items) m.grow(e.lo(), e.hi());
    }

    void remove_slot(std::int32_t si) {
        Slot& s = slots[static_cast<std::size_t>(si)];
        const std::int32_t ni = s.node;
        Node& n = nodes[static_cast<std::size_t>(ni)];
        const auto pos = static_cast<std::size_t>(s.pos);
        if (pos + 1 != n.items.size()) {
            n.items[pos] = n.items.back();
            slots[static_cast<std::size_t>(n.items[pos].slot)].pos = static_cast<std::int32_t>(pos);
        }
        n.items.pop_back();
        s.node = -1;
        std::int32_t merge = -1;
        for (std::int32_t p = ni; p >= 0; p = nodes[static_cast<std::size_t>(p)].parent) {
            Node& pn = nodes[static_cast<std::size_t>(p)];
            pn.count -= 1;
            if (pn.count == 0) pn.clear_bounds();
            if (!pn.leaf() && pn.count <= static_cast<std::int64_t>(kLeaf / 2))
                merge = p;  // the highest such ancestor wins
        }
        if (merge >= 0) collapse(merge);
    }

    void move_slot(std::int32_t si, const double* lo, const double* hi) {
        Slot& s = slots[static_cast<std::size_t>(si)];
        Node& n = nodes[static_cast<std::size_t>(s.node)];
        double c[D], ext;
        centre_ext(lo, hi, c, ext);
        // Fast path: still inside its leaf's cell, so no node changes; only bounds may grow.
        if (n.leaf() && in_cell(n, c) && (s.node == 0 || ext <= n.half)) {
            Entry& e = n.items[static_cast<std::size_t>(s.pos)];
            for (int a = 0; a < D; ++a) {
                e.lo()[a] = lo[a];
                e.hi()[a] = hi[a];
            }
            for (std::int32_t p = s.node; p >= 0; p = nodes[static_cast<std::size_t>(p)].parent) {
                Node& pn = nodes[static_cast<std::size_t>(p)];
                if (pn.bounds_contain(lo, hi)) break;
                pn.grow(lo, hi);
            }
            return;
        }
        remove_slot(si);
        Entry e{};
        for (int a = 0; a < D; ++a) {
            e.lo()[a] = lo[a];
            e.hi()[a] = hi[a];
        }
        e.slot = si;
        insert_entry(e);
    }

    std::int32_t new_slot(std::int64_t id) {
        std::int32_t si;
        if (!free_slots.empty()) {
            si = free_slots.back();
            free_slots.pop_back();
        } else {
            si = static_cast<std::int32_t>(slots.size());
            slots.emplace_back();
        }
        slots[static_cast<std::size_t>(si)].id = id;
        return si;
    }

    // ---------------------------------------------------------------- validation
    TreeStatus check_rows(const double* items, std::size_t count) const {
        TreeStatus st;
        Status g = first_invalid(items, count, width(), kMaxCoordinate);
        if (!g.ok()) {
            st.code = TreeError::kInvalidGeometry;
            st.index = g.index;
            st.geometry = g;
            return st;
        }
        if (boxes) {
            for (std::size_t i = 0; i < count; ++i) {
                const double* r = items + i * width();
                for (int a = 0; a < D; ++a) {
                    if (r[D + a] < r[a]) {
                        st.code = TreeError::kInvertedBox;
                        st.index = i;
                        st.geometry.code = ErrorCode::kNegative;
                        st.geometry.index = i;
                        st.geometry.component = static_cast<std::uint8_t>(D + a);
                        st.geometry.value = r[D + a] - r[a];
                        return st;
                    }
                }
            }
        }
        return st;
    }

    // First repeated id in the batch (row of its second occurrence), or ok.
    static TreeStatus check_unique(const std::int64_t* ids, std::size_t count) {
        TreeStatus st;
        std::vector<std::pair<std::int64_t, std::size_t>> v(count);
        for (std::size_t i = 0; i < count; ++i) v[i] = {ids[i], i};
        std::sort(v.begin(), v.end());
        std::size_t best = count;
        for (std::size_t i = 1; i < count; ++i)
            if (v[i].first == v[i - 1].first) best = std::min(best, v[i].second);
        if (best < count) {
            st.code = TreeError::kDuplicateId;
            st.index = best;
            st.id = ids[best];
        }
        return st;
    }

    // Resolves every id of a move/remove batch to its slot (out_slots), rejecting unknown ids
    // and repeats in one O(m) pass: each slot is stamped with the batch's epoch.
    TreeStatus resolve(const std::int64_t* ids, std::size_t count,
                       std::vector<std::int32_t>& out_slots) {
        TreeStatus st;
        out_slots.resize(count);
        if (stamp_.size() < slots.size()) stamp_.resize(slots.size(), 0);
        if (++epoch_ == 0) {  // wrapped: old stamps could collide, clear them once
            std::fill(stamp_.begin(), stamp_.end(), 0);
            epoch_ = 1;
        }
        for (std::size_t i = 0; i < count; ++i) {
            const std::int32_t si = id_to_slot.find(ids[i]);
            if (si < 0) {
                st.code = TreeError::kUnknownId;
            } else if (stamp_[static_cast<std::size_t>(si)] == epoch_) {
                st.code = TreeError::kDuplicateId;
            } else {
                stamp_[static_cast<std::size_t>(si)] = epoch_;
                out_slots[i] = si;
                continue;
            }
            st.index = i;
            st.id = ids[i];
            return st;
        }
        return st;
    }

    // ---------------------------------------------------------------- queries
    static double box_dist2(const double* q, const double* lo, const double* hi) {
        double s = 0.0;
        for (int a = 0; a < D; ++a) {
            const double d = std::max(std::max(lo[a] - q[a], q[a] - hi[a]), 0.0);
            s += d * d;
        }
        return s;
    }
    // Largest distance^2 from q to any point of [lo, hi]; monotone in the same way as
    // box_dist2, so an item inside [lo, hi] never computes farther than this.
    static double box_maxdist2(const double* q, const double* lo, const double* hi) {
        double s = 0.0;
        for (int a = 0; a < D; ++a) {
            const double d = std::max(q[a] - lo[a], hi[a] - q[a]);
            s += d * d;
        }
        return s;
    }
    static bool overlaps(const double* alo, const double* ahi, const double* blo,
                         const double* bhi) {
        for (int a = 0; a < D; ++a)
            if (alo[a] > bhi[a] || ahi[a] < blo[a]) return false;
        return true;
    }
    static bool contains(const double* olo, const double* ohi, const double* ilo,
                         const double* ihi) {
        for (int a = 0; a < D; ++a)
            if (ilo[a] < olo[a] || ihi[a] > ohi[a]) return false;
        return true;
    }

    // A candidate keeps its slot, not its id: ids are only needed to break exact distance
    // ties, and fetching one per candidate is a cache miss into the slot table.
    struct Cand {
        double d2;
        std::int32_t slot;
    };
    struct CandLess {
        const Slot* slots;
        bool operator()(const Cand& a, const Cand& b) const {
            return a.d2 < b.d2 ||
                   (a.d2 == b.d2 && slots[static_cast<std::size_t>(a.slot)].id <
                                        slots[static_cast<std::size_t>(b.slot)].id);
        }
    };

    struct KnnState {
        const double* q;
        std::size_t k;
        CandLess less;
        std::vector<Cand> heap;  // max-heap on (d2, id)
        double worst() const { return heap.size() < k ? kInf : heap.front().d2; }
    };

    // Squared distance to a point item: bit-identical to box_dist2 with lo == hi (|x| * |x| ==
    // x * x), but half the loads and no max.
    static double point_dist2(const double* q, const double* p) {
        double s = 0.0;
        for (int a = 0; a < D; ++a) {
            const double d = q[a] - p[a];
            s += d * d;
        }
        return s;
    }

    static void offer(KnnState& st, double d2, std::int32_t slot) {
        if (st.heap.size() < st.k) {
            st.heap.push_back({d2, slot});
            std::push_heap(st.heap.begin(), st.heap.end(), st.less);
        } else if (d2 <= st.heap.front().d2) {
            const Cand c{d2, slot};
            if (st.less(c, st.heap.front())) {
                std::pop_heap(st.heap.begin(), st.heap.end(), st.less);
                st.heap.back() = c;
                std::push_heap(st.heap.begin(), st.heap.end(), st.less);
            }
        }
    }

    static double entry_dist2(const double* q, const Entry& e) {
        if constexpr (kBoxes)
            return box_dist2(q, e.lo(), e.hi());
        else
            return point_dist2(q, e.v);
    }

    void knn_node(std::int32_t ni, KnnState& st) const {
        const Node& n = nodes[static_cast<std::size_t>(ni)];
        for (const Entry& e : n.items)
            offer(st, entry_dist2(st.q, e), e.slot);
        if (n.leaf()) return;
        std::pair<double, int> order[kChildren];
        int m = 0;
        for (int k = 0; k < kChildren; ++k) {
            const Node& ch = nodes[static_cast<std::size_t>(n.first_child + k)];
            if (ch.count == 0) continue;
            order[m++] = {box_dist2(st.q, ch.blo, ch.bhi), k};
        }
        sort_small(order, m);
        for (int i = 0; i < m; ++i) {
            // Strictly farther than the k-th best: nothing there can enter, not even on a tie.
            if (order[i].first > st.worst()) break;
            knn_node(n.first_child + order[i].second, st);
        }
    }

    void knn(const double* queries, std::size_t count, std::size_t k, int workers,
             double* out_dist, std::int64_t* out_ids) const {
        parallel_chunks(count, workers, [&](std::size_t, std::size_t b, std::size_t e) {
            KnnState st;
            st.k = k;
            st.less = CandLess{slots.data()};
            st.heap.reserve(k);
            for (std::size_t i = b; i < e; ++i) {
                st.q = queries + i * D;
                st.heap.clear();
                if (nodes[0].count > 0) knn_node(0, st);
                std::sort_heap(st.heap.begin(), st.heap.end(), st.less);
                for (std::size_t j = 0; j < k; ++j) {
                    const bool have = j < st.heap.size();
                    out_dist[i * k + j] = have ? std::sqrt(st.heap[j].d2) : kInf;
                    out_ids[i * k + j] =
                        have ? slots[static_cast<std::size_t>(st.heap[j].slot)].id : -1;
                }
            }
        });
    }

    // Appends ids of every item in the subtree (no geometry test: the caller proved the
    // subtree's bounds qualify).
    void collect_all(std::int32_t ni, std::vector<std::int64_t>& out) const {
        const Node& n = nodes[static_cast<std::size_t>(ni)];
        for (const Entry& e : n.items) out.push_back(slots[static_cast<std::size_t>(e.slot)].id);
        if (n.leaf()) return;
        for (int k = 0; k < kChildren; ++k)
            if (nodes[static_cast<std::size_t>(n.first_child + k)].count > 0)
                collect_all(n.first_child + k, out);
    }

    template <bool kCount>
    void radius_node(std::int32_t ni, const double* q, double r2, std::vector<std::int64_t>& out,
                     std::int64_t& cnt) const {
        const Node& n = nodes[static_cast<std::size_t>(ni)];
        if (box_maxdist2(q, n.blo, n.bhi) <= r2) {
            if (kCount)
                cnt += n.count;
            else
                collect_all(ni, out);
            return;
        }
        for (const Entry& e : n.items) {
            if (entry_dist2(q, e) <= r2) {
                if (kCount)
                    ++cnt;
                else
                    out.push_back(slots[static_cast<std::size_t>(e.slot)].id);
            }
        }
        if (n.leaf()) return;
        for (int k = 0; k < kChildren; ++k) {
            const Node& ch = nodes[static_cast<std::size_t>(n.first_child + k)];
            if (ch.count == 0 || box_dist2(q, ch.blo, ch.bhi) > r2) continue;
            radius_node<kCount>(n.first_child + k, q, r2, out, cnt);
        }
    }

    template <bool kCount>
    void aabb_node(std::int32_t ni, const double* lo, const double* hi,
                   std::vector<std::int64_t>& out, std::int64_t& cnt) const {
        const Node& n = nodes[static_cast<std::size_t>(ni)];
        if (contains(lo, hi, n.blo, n.bhi)) {
            if (kCount)
                cnt += n.count;
            else
                collect_all(ni, out);
            return;
        }
        for (const Entry& e : n.items) {
            if (overlaps(lo, hi, e.lo(), e.hi())) {
                if (kCount)
                    ++cnt;
                else
                    out.push_back(slots[static_cast<std::size_t>(e.slot)].id);
            }
        }
        if (n.leaf()) return;
        for (int k = 0; k < kChildren; ++k) {
            const Node& ch = nodes[static_cast<std::size_t>(n.first_child + k)];
            if (ch.count == 0 || !overlaps(lo, hi, ch.blo, ch.bhi)) continue;
            aabb_node<kCount>(n.first_child + k, lo, hi, out, cnt);
        }
    }

    // CSR driver shared by radius and query_aabb: per-chunk id lists concatenated in order.
    template <class PerQuery>
    bool csr(std::size_t count, int workers, std::size_t max_results,
             std::vector<std::int64_t>& out_offsets, std::vector<std::int64_t>& out_ids,
             PerQuery&& per_query) const {
        out_offsets.assign(count + 1, 0);
        const int w = std::max(1, workers);
        std::vector<std::vector<std::int64_t>> parts(static_cast<std::size_t>(w));
        // Ids found so far by all threads: past max_results every thread stops after its
        // current query, so a hostile batch (a world-sized box repeated 1e5 times) costs at
        // most max_results + workers x size() ids of memory instead of an allocation failure.
        std::atomic<std::size_t> found{0};
        std::atomic<bool> over{false};
        parallel_chunks(count, workers, [&](std::size_t t, std::size_t b, std::size_t e) {
            std::vector<std::int64_t>& part = parts[t];
            for (std::size_t i = b; i < e; ++i) {
                if (over.load(std::memory_order_relaxed)) return;
                const std::size_t start = part.size();
                per_query(i, part);
                const std::size_t n = part.size() - start;
                if (found.fetch_add(n, std::memory_order_relaxed) + n > max_results) {
                    over.store(true, std::memory_order_relaxed);
                    return;
                }
                std::sort(part.begin() + static_cast<std::ptrdiff_t>(start), part.end());
                out_offsets[i + 1] = static_cast<std::int64_t>(n);
            }
        });
        if (over.load()) {
            out_offsets.clear();
            out_ids.clear();
            return false;
        }
        for (std::size_t i = 0; i < count; ++i) out_offsets[i + 1] += out_offsets[i];
        out_ids.clear();
        out_ids.reserve(static_cast<std::size_t>(out_offsets[count]));
        for (auto& p : parts) out_ids.insert(out_ids.end(), p.begin(), p.end());
        return true;
    }

    // Entry distance of the ray into [lo, hi] clipped to [0, tmax], or +inf if it misses.
    static double ray_box(const double* o, const double* inv, const double* lo, const double* hi,
                          double tmax) {
        double t0 = 0.0, t1 = tmax;
        for (int a = 0; a < D; ++a) {
            if (std::isinf(inv[a])) {  // parallel to this slab: inside it or never
                if (o[a] < lo[a] || o[a] > hi[a]) return kInf;
                continue;
            }
            double ta = (lo[a] - o[a]) * inv[a], tb = (hi[a] - o[a]) * inv[a];
            if (ta > tb) std::swap(ta, tb);
            t0 = std::max(t0, ta);
            t1 = std::min(t1, tb);
            if (t0 > t1) return kInf;
        }
        return t0;
    }

    struct RayState {
        const double* o;
        double inv[D];
        double tmax;
        double best_t;
        std::int64_t best_id;
    };

    void ray_node(std::int32_t ni, RayState& st) const {
        const Node& n = nodes[static_cast<std::size_t>(ni)];
        for (const Entry& e : n.items) {
            const double t = ray_box(st.o, st.inv, e.lo(), e.hi(), st.tmax);
            if (t == kInf || t > st.best_t) continue;
            const std::int64_t id = slots[static_cast<std::size_t>(e.slot)].id;
            if (t < st.best_t || id < st.best_id) {
                st.best_t = t;
                st.best_id = id;
            }
        }
        if (n.leaf()) return;
        std::pair<double, int> order[kChildren];
        int m = 0;
        for (int k = 0; k < kChildren; ++k) {
            const Node& ch = nodes[static_cast<std::size_t>(n.first_child + k)];
            if (ch.count == 0) continue;
            const double t = ray_box(st.o, st.inv, ch.blo, ch.bhi, st.tmax);
            if (t != kInf) order[m++] = {t, k};
        }
        sort_small(order, m);
        for (int i = 0; i < m; ++i) {
            if (order[i].first > st.best_t) break;  // ties may still hold a smaller id
            ray_node(n.first_child + order[i].second, st);
        }
    }

    bool check_invariants() const {
        std::int64_t total = 0;
        std::size_t live = 0;
        for (std::size_t si = 0; si < slots.size(); ++si) {
            const Slot& s = slots[si];
            if (s.node < 0) continue;
            ++live;
            const Node& n = nodes[static_cast<std::size_t>(s.node)];
            if (static_cast<std::size_t>(s.pos) >= n.items.size()) return false;
            if (n.items[static_cast<std::size_t>(s.pos)].slot != static_cast<std::int32_t>(si))
                return false;
            if (id_to_slot.find(s.id) != static_cast<std::int32_t>(si)) return false;
            // Every ancestor's bounds contain the item.
            const Entry& e = n.items[static_cast<std::size_t>(s.pos)];
            for (std::int32_t p = s.node; p >= 0; p = nodes[static_cast<std::size_t>(p)].parent)
                if (!nodes[static_cast<std::size_t>(p)].bounds_contain(e.lo(), e.hi())) return false;
        }
        if (live != id_to_slot.size()) return false;
        // Subtree counts add up.
        std::vector<std::int32_t> stack{0};
        while (!stack.empty()) {
            const Node& n = nodes[static_cast<std::size_t>(stack.back())];
            stack.pop_back();
            std::int64_t sum = static_cast<std::int64_t>(n.items.size());
            total += sum;
            if (!n.leaf()) {
                for (int k = 0; k < kChildren; ++k) {
                    sum += nodes[static_cast<std::size_t>(n.first_child + k)].count;
                    stack.push_back(n.first_child + k);
                }
            }
            if (sum != n.count) return false;
        }
        return total == static_cast<std::int64_t>(live);
    }
};

}  // namespace fbsim::detail

#include "detail/spatial_tree_methods.hpp"
