// SPDX-License-Identifier: MIT
// fbsim: dynamic AABB tree. The design follows the one Erin Catto describes for Box2D's
// b2DynamicTree (GDC 2019, "Dynamic Bounding Volume Hierarchies"): leaves hold fattened boxes,
// a leaf is re-inserted only when its box leaves the fat box, the sibling for a new leaf is
// chosen by a branch-and-bound descent on the surface-area heuristic (Goldsmith & Salmon 1987),
// and AVL-style rotations (Adelson-Velsky & Landis 1962) keep the height logarithmic. Written
// from those descriptions; node bounds are float rounded outward, so every node still contains
// its leaves' exact double boxes and the shared exact test keeps every answer exact.
// Pairs use a simultaneous self-traversal (each unordered leaf pair is reached exactly once).
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "fbsim/broadphase.hpp"

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
    return a.lo[0] <= b.hi[0] && b.lo[0] <= a.hi[0] && a.lo[1] <= b.hi[1] && b.lo[1] <= a.hi[1] &&
           a.lo[2] <= b.hi[2] && b.lo[2] <= a.hi[2];
}
inline bool overlaps(const FBox& a, const Aabb& b) noexcept {
    return a.lo[0] <= b.max.x && b.min.x <= a.hi[0] && a.lo[1] <= b.max.y && b.min.y <= a.hi[1] &&
           a.lo[2] <= b.max.z && b.min.z <= a.hi[2];
}
inline bool overlaps(const Aabb& a, const Aabb& b) noexcept {
    return a.min.x <= b.max.x && b.min.x <= a.max.x && a.min.y <= b.max.y &&
           b.min.y <= a.max.y && a.min.z <= b.max.z && b.min.z <= a.max.z;
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

    // AVL rotation at node a (if unbalanced by more than one level). Returns the subtree root.
    std::int32_t balance(std::int32_t ia) noexcept {
        Node& a = N(ia);
        if (a.leaf()) return ia;
        const std::int32_t ib = a.child1, ic = a.child2;
        const std::int32_t skew = N(ic).height - N(ib).height;
        if (skew > 1) return rotate_up(ia, ic, ib, /*c_is_child2=*/true);
        if (skew < -1) return rotate_up(ia, ib, ic, /*c_is_child2=*/false);
        return ia;
    }

    // Lift the taller child `ic` of `ia` into ia's place; `ib` is the other child. ic's taller
    // grandchild stays under ic, the shorter one moves down to ia.
    std::int32_t rotate_up(std::int32_t ia, std::int32_t ic, std::int32_t ib, bool c_is_child2) noexcept {
        Node& a = N(ia);
        Node& c = N(ic);
        const std::int32_t ifg = c.child1, ig = c.child2;
        // c takes a's place.
        c.child1 = ia;
        c.parent = a.parent;
        a.parent = ic;
        if (c.parent != kNull) {
            Node& p = N(c.parent);
            if (p.child1 == ia) p.child1 = ic; else p.child2 = ic;
        } else {
            root = ic;
        }
        const bool f_taller = N(ifg).height > N(ig).height;
        const std::int32_t keep = f_taller ? ifg : ig, give = f_taller ? ig : ifg;
        c.child2 = keep;
        if (c_is_child2) a.child2 = give; else a.child1 = give;
        N(give).parent = ia;
        (void)ib;
        refit(ia);
        refit(ic);
        return ic;
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
        while (index != kNull) {
            index = balance(index);
            refit(index);
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
    if (slot_capacity() > t.leaf_of.size()) t.leaf_of.resize(slot_capacity(), kNull);
    const std::size_t need = t.nodes.size() + 2 * count;
    if (need > t.nodes.capacity()) t.nodes.reserve(std::max(need, t.nodes.capacity() + t.nodes.capacity() / 2));
    for (std::size_t i = 0; i < count; ++i) {
        const std::int32_t leaf = t.allocate();
        Impl::Node& n = t.N(leaf);
        n.box = fatten(box(slots[i]), margin_);
        n.child1 = kNull;
        n.child2 = static_cast<std::int32_t>(slots[i]);
        n.height = 0;
        n.parent = kNull;
        t.leaf_of[slots[i]] = leaf;
        t.insert_leaf(leaf);
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
