// SPDX-License-Identifier: MIT
// fbsim: dynamic AABB tree. The design follows the one Erin Catto describes for Box2D's
// b2DynamicTree (GDC 2019, "Dynamic Bounding Volume Hierarchies"): leaves hold fattened boxes,
// a leaf is re-inserted only when its box leaves the fat box, the sibling for a new leaf is
// chosen by a greedy descent on the surface-area cost (Goldsmith & Salmon 1987),
// and tree rotations that lower surface area (Kensler 2008, as in Box2D v3) keep it tight; a
// batch that at least doubles the tree is built top-down by median splits. Written from those
// descriptions; node bounds are float rounded outward, so every node still contains
// its leaves' exact double boxes and the shared exact test keeps every answer exact.
// Pairs use a simultaneous self-traversal (each unordered leaf pair is reached exactly once).
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "fbsim/broadphase.hpp"
#include "grow.hpp"

namespace fbsim {

namespace {

constexpr std::int32_t kNull = -1;

// Round a double to a float no greater (down) / no smaller (up) than it.
inline float round_down(double v) noexcept {
    float f = static_cast<float>(v);
    if (static_cast<double>(f) > v) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    return f;
}
inline float round_up(double v) noexcept {
    float f = static_cast<float>(v);
    if (static_cast<double>(f) < v) f = std::nextafter(f, std::numeric_limits<float>::infinity());
    return f;
}

struct FBox {
    float lo[3];
    float hi[3];
};

inline FBox unite(const FBox& a, const FBox& b) noexcept {
    FBox r;
    for (int k = 0; k < 3; ++k) {
        r.lo[k] = std::min(a.lo[k], b.lo[k]);
        r.hi[k] = std::max(a.hi[k], b.hi[k]);
    }
    return r;
}
// Half the surface area: the SAH cost of a node.
inline double area(const FBox& b) noexcept {
    const double x = static_cast<double>(b.hi[0]) - b.lo[0];
    const double y = static_cast<double>(b.hi[1]) - b.lo[1];
    const double z = static_cast<double>(b.hi[2]) - b.lo[2];
    return x * y + y * z + z * x;
}
inline bool encloses(const FBox& outer, const FBox& inner) noexcept {
    for (int k = 0; k < 3; ++k)
        if (inner.lo[k] < outer.lo[k] || inner.hi[k] > outer.hi[k]) return false;
    return true;
}
inline bool encloses(const FBox& outer, const Aabb& b) noexcept {
    return outer.lo[0] <= b.min.x && outer.lo[1] <= b.min.y && outer.lo[2] <= b.min.z &&
           outer.hi[0] >= b.max.x && outer.hi[1] >= b.max.y && outer.hi[2] >= b.max.z;
}
inline bool overlaps(const FBox& a, const FBox& b) noexcept {
    return (a.lo[0] <= b.hi[0]) & (b.lo[0] <= a.hi[0]) & (a.lo[1] <= b.hi[1]) &
           (b.lo[1] <= a.hi[1]) & (a.lo[2] <= b.hi[2]) & (b.lo[2] <= a.hi[2]);
}
inline bool overlaps(const FBox& a, const Aabb& b) noexcept {
    return (a.lo[0] <= b.max.x) & (b.min.x <= a.hi[0]) & (a.lo[1] <= b.max.y) &
           (b.min.y <= a.hi[1]) & (a.lo[2] <= b.max.z) & (b.min.z <= a.hi[2]);
}
// Non-short-circuit `&`: six compares and one well-predicted branch (most tests fail), rather
// than six branches that mispredict on random data.
inline bool overlaps(const Aabb& a, const Aabb& b) noexcept {
    return (a.min.x <= b.max.x) & (b.min.x <= a.max.x) & (a.min.y <= b.max.y) &
           (b.min.y <= a.max.y) & (a.min.z <= b.max.z) & (b.min.z <= a.max.z);
}

// The slab test of broadphase.cpp on a node's (larger) box. Rounding is monotone, so a node
// that contains a box the exact test hits is hit here too: pruning never loses a hit.
inline bool ray_hits(const FBox& b, const double o[3], const double d[3], double max_t) noexcept {
    double t0 = 0.0, t1 = max_t;
    for (int k = 0; k < 3; ++k) {
        const double lo = b.lo[k], hi = b.hi[k];
        if (d[k] == 0.0) {
            if (o[k] < lo || o[k] > hi) return false;
            continue;
        }
        double a = (lo - o[k]) / d[k], c = (hi - o[k]) / d[k];
        if (a > c) std::swap(a, c);
        if (a > t0) t0 = a;
        if (c < t1) t1 = c;
        if (t0 > t1) return false;
    }
    return true;
}

}  // namespace

struct DynamicTree::Impl {
    struct Node {
        FBox box;
        std::int32_t parent;  // next free node while on the free list
        std::int32_t child1;  // kNull for a leaf
        std::int32_t child2;  // the slot, for a leaf
        std::int32_t height;  // 0 for a leaf; -1 while free
        bool leaf() const noexcept { return child1 == kNull; }
    };
    std::vector<Node> nodes;
    std::vector<std::int32_t> leaf_of;  // slot -> node
    std::int32_t root = kNull;
    std::int32_t free_list = kNull;

    std::int32_t allocate() {
        if (free_list != kNull) {
            const std::int32_t n = free_list;
            free_list = nodes[static_cast<std::size_t>(n)].parent;
            return n;
        }
        nodes.push_back(Node{});
        return static_cast<std::int32_t>(nodes.size() - 1);
    }
    void release(std::int32_t n) {
        Node& x = N(n);
        x.parent = free_list;
        x.height = -1;
        free_list = n;
    }
    Node& N(std::int32_t i) noexcept { return nodes[static_cast<std::size_t>(i)]; }
    const Node& N(std::int32_t i) const noexcept { return nodes[static_cast<std::size_t>(i)]; }

    void refit(std::int32_t i) noexcept {
        Node& n = N(i);
        n.box = unite(N(n.child1).box, N(n.child2).box);
        n.height = 1 + std::max(N(n.child1).height, N(n.child2).height);
    }

    // Replace child `x` of `ia` by grandchild `y` (a child of ia's other child `iz`), and x
    // takes y's place under iz. Then refit iz and ia.
    void swap_down(std::int32_t ia, std::int32_t x, std::int32_t iz, std::int32_t y) noexcept {
        Node& a = N(ia);
        Node& z = N(iz);
        if (a.child1 == x) a.child1 = y; else a.child2 = y;
        if (z.child1 == y) z.child1 = x; else z.child2 = x;
        N(y).parent = ia;
        N(x).parent = iz;
        refit(iz);
        refit(ia);
    }

    // Tree rotation that lowers surface area (Kensler, "Tree rotations for improving bounding
    // volume hierarchies", IEEE RT 2008; the form Box2D v3 uses): at node A with children B and
    // C, try swapping one child with a grandchild under the other child and keep the swap that
    // shrinks the changed child's area most. Unlike AVL height rotations it never makes the
    // boxes worse, which is what queries pay for.
    void rotate(std::int32_t ia) noexcept {
        const Node& a = N(ia);
        if (a.leaf() || a.height < 2) return;
        const std::int32_t ib = a.child1, ic = a.child2;
        const Node& b = N(ib);
        const Node& c = N(ic);
        double best = 0.0;  // area change; only strictly negative swaps are taken
        int which = -1;
        // 0: B<->F (C becomes B+G), 1: B<->G (C = B+F), 2: C<->D (B = C+E), 3: C<->E (B = C+D)
        if (!c.leaf()) {
            const double ac = area(c.box);
            const double d0 = area(unite(b.box, N(c.child2).box)) - ac;
            const double d1 = area(unite(b.box, N(c.child1).box)) - ac;
            if (d0 < best) { best = d0; which = 0; }
            if (d1 < best) { best = d1; which = 1; }
        }
        if (!b.leaf()) {
            const double ab = area(b.box);
            const double d2 = area(unite(c.box, N(b.child2).box)) - ab;
            const double d3 = area(unite(c.box, N(b.child1).box)) - ab;
            if (d2 < best) { best = d2; which = 2; }
            if (d3 < best) { best = d3; which = 3; }
        }
        switch (which) {
            case 0: swap_down(ia, ib, ic, c.child1); break;
            case 1: swap_down(ia, ib, ic, c.child2); break;
            case 2: swap_down(ia, ic, ib, b.child1); break;
            case 3: swap_down(ia, ic, ib, b.child2); break;
            default: break;
        }
    }

    // Top-down build over leaves[begin, end) splitting at the median centre of the longest
    // axis: O(n log n), height ceil(log2 n). Used when a batch at least doubles the tree.
    std::int32_t build(std::vector<std::int32_t>& leaves, std::size_t begin, std::size_t end) {
        if (end - begin == 1) return leaves[begin];
        float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
        for (std::size_t i = begin; i < end; ++i) {
            const FBox& bx = N(leaves[i]).box;
            for (int k = 0; k < 3; ++k) {
                const float m = 0.5f * bx.lo[k] + 0.5f * bx.hi[k];
                lo[k] = std::min(lo[k], m);
                hi[k] = std::max(hi[k], m);
            }
        }
        int axis = 0;
        for (int k = 1; k < 3; ++k)
            if (hi[k] - lo[k] > hi[axis] - lo[axis]) axis = k;
        const std::size_t mid = begin + (end - begin) / 2;
        const auto key = [&](std::int32_t n) {
            const FBox& bx = N(n).box;
            return static_cast<double>(bx.lo[axis]) + static_cast<double>(bx.hi[axis]);
        };
        std::nth_element(leaves.begin() + static_cast<std::ptrdiff_t>(begin),
                         leaves.begin() + static_cast<std::ptrdiff_t>(mid),
                         leaves.begin() + static_cast<std::ptrdiff_t>(end),
                         [&](std::int32_t p, std::int32_t q) {
                             const double kp = key(p), kq = key(q);
                             return kp < kq || (kp == kq && N(p).child2 < N(q).child2);
                         });
        const std::int32_t left = build(leaves, begin, mid);
        const std::int32_t right = build(leaves, mid, end);
        const std::int32_t n = allocate();
        Node& x = N(n);
        x.child1 = left;
        x.child2 = right;
        x.parent = kNull;
        N(left).parent = n;
        N(right).parent = n;
        refit(n);
        return n;
    }

    void insert_leaf(std::int32_t leaf) {
        if (root == kNull) {
            root = leaf;
            N(leaf).parent = kNull;
            return;
        }
        const FBox lb = N(leaf).box;
        // Descend towards the cheapest sibling (SAH with inherited enlargement cost). The
        // descent depth is bounded by the tree height.
        std::int32_t index = root;
        while (!N(index).leaf()) {
            const Node& n = N(index);
            const double a = area(n.box);
            const double combined = area(unite(n.box, lb));
            const double cost = 2.0 * combined;
            const double inherit = 2.0 * (combined - a);
            auto child_cost = [&](std::int32_t c) {
                const Node& cn = N(c);
                const double u = area(unite(cn.box, lb));
                return cn.leaf() ? u + inherit : (u - area(cn.box)) + inherit;
            };
            const double c1 = child_cost(n.child1), c2 = child_cost(n.child2);
            if (cost < c1 && cost < c2) break;
            index = c1 <= c2 ? n.child1 : n.child2;
        }
        const std::int32_t sibling = index;
        const std::int32_t old_parent = N(sibling).parent;
        const std::int32_t np = allocate();  // may reallocate nodes: re-read references after
        Node& p = N(np);
        p.parent = old_parent;
        p.child1 = sibling;
        p.child2 = leaf;
        p.box = unite(lb, N(sibling).box);
        p.height = N(sibling).height + 1;
        if (old_parent != kNull) {
            Node& op = N(old_parent);
            if (op.child1 == sibling) op.child1 = np; else op.child2 = np;
        } else {
            root = np;
        }
        N(sibling).parent = np;
        N(leaf).parent = np;
        fix_upwards(np);
    }

    void fix_upwards(std::int32_t index) noexcept {
        // Bounded by the height: each step moves to the parent.
        while (index != kNull) {
            refit(index);
            rotate(index);
            index = N(index).parent;
        }
    }

    void remove_leaf(std::int32_t leaf) {
        if (leaf == root) {
            root = kNull;
            return;
        }
        const std::int32_t parent = N(leaf).parent;
        const std::int32_t grand = N(parent).parent;
        const std::int32_t sibling = N(parent).child1 == leaf ? N(parent).child2 : N(parent).child1;
        if (grand != kNull) {
            Node& g = N(grand);
            if (g.child1 == parent) g.child1 = sibling; else g.child2 = sibling;
            N(sibling).parent = grand;
            release(parent);
            fix_upwards(grand);
        } else {
            root = sibling;
            N(sibling).parent = kNull;
            release(parent);
        }
    }
};

DynamicTree::DynamicTree(double margin)
    : impl_(std::make_unique<Impl>()), margin_(margin > 0.0 && std::isfinite(margin) ? margin : 0.0) {}
DynamicTree::~DynamicTree() = default;

int DynamicTree::height() const noexcept {
    return impl_->root == kNull ? -1 : impl_->N(impl_->root).height;
}

namespace {
FBox fatten(const Aabb& b, double m) noexcept {
    return FBox{{round_down(b.min.x - m), round_down(b.min.y - m), round_down(b.min.z - m)},
                {round_up(b.max.x + m), round_up(b.max.y + m), round_up(b.max.z + m)}};
}
}  // namespace

void DynamicTree::on_insert(const std::uint32_t* slots, std::size_t count) {
    Impl& t = *impl_;
    if (slot_capacity() > t.leaf_of.size()) {
        detail::grow(t.leaf_of, slot_capacity());  // resize() alone would double the capacity
        t.leaf_of.resize(slot_capacity(), kNull);
    }
    detail::grow(t.nodes, t.nodes.size() + 2 * count);
    // A batch at least as large as the tree: rebuild everything top-down (better boxes and
    // O(n log n)); otherwise insert leaf by leaf.
    const bool rebuild = count >= size() - count && count > 1;
    std::vector<std::int32_t> leaves;
    if (rebuild) {
        leaves.reserve(size());
        for (std::int32_t i = 0; i < static_cast<std::int32_t>(t.nodes.size()); ++i) {
            Impl::Node& n = t.N(i);
            if (n.height < 0) continue;                      // on the free list
            if (n.leaf()) leaves.push_back(i); else t.release(i);  // drop internal nodes
        }
        t.root = kNull;
    }
    for (std::size_t i = 0; i < count; ++i) {
        const std::int32_t leaf = t.allocate();
        Impl::Node& n = t.N(leaf);
        n.box = fatten(box(slots[i]), margin_);
        n.child1 = kNull;
        n.child2 = static_cast<std::int32_t>(slots[i]);
        n.height = 0;
        n.parent = kNull;
        t.leaf_of[slots[i]] = leaf;
        if (rebuild) leaves.push_back(leaf); else t.insert_leaf(leaf);
    }
    if (rebuild && !leaves.empty()) {
        t.root = t.build(leaves, 0, leaves.size());
        t.N(t.root).parent = kNull;
    }
}

void DynamicTree::on_update(const std::uint32_t* slots, std::size_t count) {
    Impl& t = *impl_;
    for (std::size_t i = 0; i < count; ++i) {
        const std::int32_t leaf = t.leaf_of[slots[i]];
        const Aabb& b = box(slots[i]);
        if (encloses(t.N(leaf).box, b)) continue;  // still inside its fat box: nothing to do
        t.remove_leaf(leaf);
        t.N(leaf).box = fatten(b, margin_);
        t.insert_leaf(leaf);
    }
}

void DynamicTree::on_remove(const std::uint32_t* slots, std::size_t count) {
    Impl& t = *impl_;
    for (std::size_t i = 0; i < count; ++i) {
        const std::int32_t leaf = t.leaf_of[slots[i]];
        t.remove_leaf(leaf);
        t.release(leaf);
        t.leaf_of[slots[i]] = kNull;
    }
}

void DynamicTree::candidates(const Aabb& q, std::vector<std::uint32_t>& out) const {
    const Impl& t = *impl_;
    if (t.root == kNull) return;
    std::vector<std::int32_t> stack;
    stack.reserve(64);
    stack.push_back(t.root);
    while (!stack.empty()) {
        const std::int32_t i = stack.back();
        stack.pop_back();
        const Impl::Node& n = t.N(i);
        if (!overlaps(n.box, q)) continue;
        if (n.leaf()) {
            out.push_back(static_cast<std::uint32_t>(n.child2));
        } else {
            stack.push_back(n.child2);
            stack.push_back(n.child1);
        }
    }
}

void DynamicTree::ray_candidates(const Vec3& origin, const Vec3& dir, double max_t,
                                 std::vector<std::uint32_t>& out) const {
    const Impl& t = *impl_;
    if (t.root == kNull) return;
    const double o[3] = {origin.x, origin.y, origin.z}, d[3] = {dir.x, dir.y, dir.z};
    std::vector<std::int32_t> stack;
    stack.reserve(64);
    stack.push_back(t.root);
    while (!stack.empty()) {
        const std::int32_t i = stack.back();
        stack.pop_back();
        const Impl::Node& n = t.N(i);
        if (!ray_hits(n.box, o, d, max_t)) continue;
        if (n.leaf()) {
            out.push_back(static_cast<std::uint32_t>(n.child2));
        } else {
            stack.push_back(n.child2);
            stack.push_back(n.child1);
        }
    }
}

void DynamicTree::candidate_pairs(std::vector<std::uint32_t>& out) const {
    const Impl& t = *impl_;
    if (t.root == kNull) return;
    std::vector<std::pair<std::int32_t, std::int32_t>> stack;
    stack.reserve(256);
    stack.emplace_back(t.root, t.root);
    while (!stack.empty()) {
        const auto [ia, ib] = stack.back();
        stack.pop_back();
        const Impl::Node& a = t.N(ia);
        if (ia == ib) {
            if (a.leaf()) continue;
            stack.emplace_back(a.child1, a.child2);
            stack.emplace_back(a.child2, a.child2);
            stack.emplace_back(a.child1, a.child1);
            continue;
        }
        const Impl::Node& b = t.N(ib);
        if (!overlaps(a.box, b.box)) continue;
        if (a.leaf() && b.leaf()) {
            const auto sa = static_cast<std::uint32_t>(a.child2), sb = static_cast<std::uint32_t>(b.child2);
            if (overlaps(box(sa), box(sb))) {  // exact here: fat boxes over-report
                out.push_back(sa);
                out.push_back(sb);
                if (out.size() / 2 > max_results()) return;  // the caller reports the limit
            }
        } else if (b.leaf() || (!a.leaf() && area(a.box) >= area(b.box))) {
            stack.emplace_back(a.child1, ib);
            stack.emplace_back(a.child2, ib);
        } else {
            stack.emplace_back(ia, b.child1);
            stack.emplace_back(ia, b.child2);
        }
    }
}

std::size_t DynamicTree::index_memory_bytes() const noexcept {
    return impl_->nodes.capacity() * sizeof(Impl::Node) +
           impl_->leaf_of.capacity() * sizeof(std::int32_t);
}

bool DynamicTree::check_invariants() const {
    const Impl& t = *impl_;
    std::size_t leaves = 0;
    if (t.root == kNull) return size() == 0;
    if (t.N(t.root).parent != kNull) return false;
    std::vector<std::int32_t> stack{t.root};
    std::size_t visited = 0;
    while (!stack.empty()) {
        const std::int32_t i = stack.back();
        stack.pop_back();
        if (++visited > t.nodes.size()) return false;  // a cycle
        const Impl::Node& n = t.N(i);
        if (n.leaf()) {
            const auto s = static_cast<std::uint32_t>(n.child2);
            if (n.height != 0 || !alive(s) || t.leaf_of[s] != i || !encloses(n.box, box(s)))
                return false;
            ++leaves;
            continue;
        }
        const Impl::Node& c1 = t.N(n.child1);
        const Impl::Node& c2 = t.N(n.child2);
        if (c1.parent != i || c2.parent != i) return false;
        if (n.height != 1 + std::max(c1.height, c2.height)) return false;
        if (!encloses(n.box, c1.box) || !encloses(n.box, c2.box)) return false;
        stack.push_back(n.child1);
        stack.push_back(n.child2);
    }
    return leaves == size();
}

}  // namespace fbsim
