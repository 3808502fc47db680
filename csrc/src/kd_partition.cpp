// SPDX-License-Identifier: MIT
// Weighted k-d partition of a world across servers.
//
// Source: the recursive coordinate bisection of Berger & Bokhari, "A partitioning strategy for
// nonuniform problems on multiprocessors", IEEE Trans. Computers C-36(5), 1987, generalised to
// non-power-of-two part counts by splitting the weight in proportion to the parts on each side
// (as in Zoltan's RCB). The weighted median is found by weighted quickselect (Cormen et al.,
// "Introduction to Algorithms", 3rd ed., problem 9-2): Hoare's selection where each round
// discards the side whose summed weight cannot contain the target, with Floyd-Rivest sampled
// pivots on large ranges. The partition passes are the block partitioning of Edelkamp & Weiss
// (BlockQuicksort, ESA 2016), so that the coin-flip comparisons around a median cost no branch
// mispredictions, and they measure the children's bounding boxes as they go (a level reads
// its records in the selection passes only).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "fbsim/shard.hpp"
#include "fbsim/validate.hpp"

namespace fbsim {

Status validate_shard_weights(const double* weights, std::size_t count) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        const double w = weights[i];
        if (!std::isfinite(w)) return Status{ErrorCode::kNotFinite, i, 0, w};
        if (w < 0.0) return Status{ErrorCode::kNegative, i, 0, w};
        if (w > kMaxShardWeight) return Status{ErrorCode::kOutOfRange, i, 0, w};
    }
    return Status{};
}

namespace {

// Entities are copied once into one of these layouts so that selection permutes contiguous
// records instead of chasing indices into the caller's arrays. Every level of the tree moves
// the records through memory about twice, so their size sets the cost: when every weight is
// exactly a float (1, 10, 20...: the usual case) the 32-byte record is used, two per cache
// line; otherwise the 40-byte one keeps the weights exact. Sums are taken in double either
// way, so both give the same answer.
struct Item {
    double p[3];
    double w;
    std::uint32_t idx;
};
struct CompactItem {
    double p[3];
    float w;
    std::uint32_t idx;
};
static_assert(sizeof(CompactItem) == 32, "two compact records per 64-byte cache line");

// Total order used for every split: coordinate, then input index. Ties are thereby broken
// deterministically and each entity lands on exactly one side.
struct Less {
    int axis;
    template <class T>
    bool operator()(const T& a, const T& b) const noexcept {
        const double x = a.p[axis], y = b.p[axis];
        // Bitwise, not short-circuit: one flag computation, no branch (see split_by).
        return (x < y) | ((x == y) & (a.idx < b.idx));
    }
};

// Bounding box of a set of records, grown one record at a time. Selection grows one box for
// everything it has settled on the low side and one for the high side, in the same passes that
// partition the records, so a level needs no separate pass to measure its children.
struct Box {
    double lo[3] = {std::numeric_limits<double>::infinity(),
                    std::numeric_limits<double>::infinity(),
                    std::numeric_limits<double>::infinity()};
    double hi[3] = {-std::numeric_limits<double>::infinity(),
                    -std::numeric_limits<double>::infinity(),
                    -std::numeric_limits<double>::infinity()};
    template <class T>
    void add(const T& it) noexcept {
        for (int a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], it.p[a]);
            hi[a] = std::max(hi[a], it.p[a]);
        }
    }
    void add(const Box& o) noexcept {
        for (int a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], o.lo[a]);
            hi[a] = std::max(hi[a], o.hi[a]);
        }
    }
};

// splitmix64 (Steele, Lea, Flood 2014): a cheap deterministic pivot source. A seeded random
// pivot gives expected linear time on sorted or adversarial input, where median-of-3 does not.
std::uint64_t next_random(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

constexpr int kMaxSelectRounds = 64;  // after this many rounds, sort the rest (bounded loop)
constexpr std::ptrdiff_t kSmallRange = 24;
constexpr std::ptrdiff_t kSampleThreshold = 4096;  // below this, plain quickselect is cheaper
constexpr int kSampleRounds = 4;                   // sampling rounds before plain quickselect
constexpr std::size_t kMinSample = 256;
constexpr std::size_t kMaxSample = 1024;  // larger samples cost more to sort than they save
constexpr std::size_t kParallelMinItems = 1 << 16;  // smaller subtrees are not worth a thread
constexpr int kMaxWorkers = 256;

// Reorders [first, last) so that items satisfying `pred` come first (Hoare's bidirectional
// scheme, as std::partition); sums their weight into *weight and grows `low` / `high` by the
// items that end on each side. Returns the boundary.
template <class T, class Pred>
T* split_by_scalar(T* first, T* last, Pred pred, double* weight, Box& low, Box& high) {
    double w = 0.0;
    for (;;) {
        for (;;) {
            if (first == last) {
                *weight = w;
                return first;
            }
            if (!pred(*first)) break;
            low.add(*first);
            w += (first++)->w;
        }
        --last;
        for (;;) {
            if (first == last) {
                high.add(*first);  // the item that stopped the scan from the left is high
                *weight = w;
                return first;
            }
            if (pred(*last)) break;
            high.add(*last);
            --last;
        }
        std::swap(*first, *last);
        high.add(*last);
        low.add(*first);
        w += (first++)->w;
    }
}

// Sum of weights and bounding box of [first, last): a branch-free loop over a block.
template <class T>
double settle(const T* first, const T* last, Box& box) noexcept {
    double w = 0.0;
    for (const T* it = first; it != last; ++it) {
        box.add(*it);
        w += it->w;
    }
    return w;
}

// split_by_scalar's contract, with the block partitioning of Edelkamp & Weiss ("BlockQuicksort:
// avoiding branch mispredictions in Quicksort", ESA 2016): the test of each item only records
// its offset, without a branch, and misplaced items are swapped in a second loop. Around a
// weighted median the test is a coin flip, which makes the scalar loop mispredict every other
// item. A block whose items are all on the right side is measured in one branch-free loop.
// [first, l) satisfy `pred` and [r, last) do not; the last < 2 blocks go to the scalar loop.
template <class T, class Pred>
T* split_by(T* first, T* last, Pred pred, double* weight, Box& low, Box& high) {
    constexpr std::ptrdiff_t kBlock = 64;
    std::uint8_t off_l[kBlock], off_r[kBlock];
    std::ptrdiff_t num_l = 0, num_r = 0, start_l = 0, start_r = 0;
    T* l = first;
    T* r = last;
    double w = 0.0;
    while (r - l > 2 * kBlock) {
        if (num_l == 0) {
            start_l = 0;
            for (std::ptrdiff_t i = 0; i < kBlock; ++i) {
                off_l[num_l] = static_cast<std::uint8_t>(i);
                num_l += !pred(l[i]);
            }
        }
        if (num_r == 0) {
            start_r = 0;
            for (std::ptrdiff_t i = 0; i < kBlock; ++i) {
                off_r[num_r] = static_cast<std::uint8_t>(i);
                num_r += pred(*(r - 1 - i));
            }
        }
        const std::ptrdiff_t num = std::min(num_l, num_r);
        for (std::ptrdiff_t j = 0; j < num; ++j) {
            std::swap(l[off_l[start_l + j]], *(r - 1 - off_r[start_r + j]));
        }
        num_l -= num;
        num_r -= num;
        start_l += num;
        start_r += num;
        if (num_l == 0) {
            w += settle(l, l + kBlock, low);
            l += kBlock;
        }
        if (num_r == 0) {
            settle(r - kBlock, r, high);
            r -= kBlock;
        }
    }
    double rest = 0.0;
    T* m = split_by_scalar(l, r, pred, &rest, low, high);
    *weight = w + rest;
    return m;
}

// The state of one weighted selection: [lo, hi) is still open; everything in [b, lo) precedes
// it in Less order and weighs `acc`, everything in [hi, e) follows it. `low` / `high` are the
// bounding boxes of [b, lo) and [hi, e).
template <class T>
struct Selection {
    T* lo;
    T* hi;
    double acc;           // weight of [b, lo)
    double range_weight;  // weight of [lo, hi), for the sample's fraction estimate
    Box low, high;
};

// One Floyd-Rivest round (Floyd & Rivest, "Expected time bounds for selection", CACM 18(3),
// 1975), weighted: sort a sample, take two sample items bracketing the target's estimated
// weight fraction, and split [lo, hi) in one pass into below / between / above them. The target
// almost always lands in the small middle part, so a level costs about one pass instead of
// quickselect's three.
template <class T>
void sample_round(Selection<T>& st, double target, const Less& less, std::uint64_t& seed,
                  std::vector<T>& sample) {
    T* const lo = st.lo;
    T* const hi = st.hi;
    const auto n = static_cast<std::size_t>(hi - lo);
    const auto s = std::min<std::size_t>(
        kMaxSample, std::max<std::size_t>(kMinSample, static_cast<std::size_t>(
                                                          std::cbrt(double(n)) * std::cbrt(double(n)))));
    sample.resize(s);
    for (std::size_t i = 0; i < s; ++i) sample[i] = lo[next_random(seed) % n];
    std::sort(sample.begin(), sample.end(), less);
    double sw = 0.0;
    for (const T& it : sample) sw += it.w;
    const double frac = st.range_weight > 0.0 ? (target - st.acc) / st.range_weight : 0.5;
    std::size_t j = 0;
    if (sw > 0.0) {
        double c = 0.0;
        while (j + 1 < s && c + sample[j].w < frac * sw) c += sample[j++].w;
    } else {
        j = static_cast<std::size_t>(frac * double(s - 1));
    }
    const auto delta = static_cast<std::size_t>(2.0 * std::sqrt(double(s))) + 1;
    const T p1 = sample[j > delta ? j - delta : 0];
    const T p2 = sample[std::min(s - 1, j + delta)];
    // Three parts in two bidirectional (Hoare) passes: [lo, lt) < p1, then [lt, gt) <= p2,
    // [gt, hi) > p2. The second pass reads only the upper part, and Hoare's scheme swaps
    // only misplaced pairs, which moves far fewer records than a one-pass Dutch-flag
    // partition. Each pass grows the boxes of the parts it separates.
    double wl = 0.0, wm = 0.0;
    Box b_low, b_upper, b_mid, b_top;
    T* lt = split_by(lo, hi, [&](const T& x) { return less(x, p1); }, &wl, b_low, b_upper);
    if (st.acc + wl >= target) {
        st.hi = lt;
        st.range_weight = wl;
        st.high.add(b_upper);
        return;  // the upper part is settled high: no second pass
    }
    T* gt = split_by(lt, hi, [&](const T& x) { return !less(p2, x); }, &wm, b_mid, b_top);
    st.low.add(b_low);
    if (st.acc + wl + wm >= target) {
        st.acc += wl;
        st.lo = lt;
        st.hi = gt;
        st.range_weight = wm;
        st.high.add(b_top);
    } else {
        st.acc += wl + wm;
        st.lo = gt;
        st.range_weight -= wl + wm;
        st.low.add(b_mid);
    }
}

// Reorders [b, e) so that [b, m) are the first m - b items in Less order, choosing m so the
// weight of [b, m) is as close as possible to `target`. Returns m; `*low_weight` is the weight
// of [b, m), and `low` / `high` are the bounding boxes of [b, m) and [m, e).
template <class T>
T* weighted_select(T* b, T* e, int axis, double target, double total, std::uint64_t seed,
                   double* low_weight, Box& low, Box& high) {
    const Less less{axis};
    Selection<T> st{b, e, 0.0, total, Box{}, Box{}};
    bool sorted = false;
    int rounds = 0;
    std::vector<T> sample;
    if (target <= 0.0) {  // nothing goes low
        for (T* it = b; it != e; ++it) high.add(*it);
        *low_weight = 0.0;
        low = Box{};
        return b;
    }
    while (st.hi - st.lo > kSmallRange) {
        if (++rounds > kMaxSelectRounds) {
            std::sort(st.lo, st.hi, less);
            sorted = true;
            break;
        }
        if (st.hi - st.lo > kSampleThreshold && rounds <= kSampleRounds) {
            const std::ptrdiff_t before = st.hi - st.lo;
            sample_round(st, target, less, seed, sample);
            if ((st.hi - st.lo) * 2 < before) continue;  // good progress: keep sampling
            // poor progress (skewed weights): fall through to plain quickselect rounds
        }
        T* const lo = st.lo;
        T* const hi = st.hi;
        T* piv = lo + static_cast<std::ptrdiff_t>(next_random(seed) %
                                                  static_cast<std::uint64_t>(hi - lo));
        std::swap(*piv, *(hi - 1));
        const T pivot = *(hi - 1);
        // Hoare-style partition (fewer swaps than Lomuto) that also sums the low side's
        // weight and grows both sides' boxes. Keys are unique, so every other item is either
        // below or above the pivot.
        T* i = lo;
        T* j = hi - 1;  // [i, j) is unscanned; the pivot waits at hi - 1
        double wl = 0.0;
        Box bl, bh;
        for (;;) {
            while (i < j && less(*i, pivot)) {
                bl.add(*i);
                wl += (i++)->w;
            }
            while (i < j && !less(*(j - 1), pivot)) bh.add(*--j);
            if (i >= j) break;
            --j;
            std::swap(*i, *j);
            bh.add(*j);
            bl.add(*i);
            wl += (i++)->w;
        }
        std::swap(*i, *(hi - 1));  // pivot to its final place
        T* mid = i;
        if (st.acc + wl >= target) {
            st.hi = mid;  // target reached inside the low side
            st.range_weight = wl;
            st.high.add(bh);
            st.high.add(pivot);
        } else if (st.acc + wl + pivot.w >= target) {
            st.acc += wl;  // the pivot itself crosses the target
            st.lo = mid;
            st.hi = mid + 1;
            st.low.add(bl);
            st.high.add(bh);
            sorted = true;
            break;
        } else {
            st.acc += wl + pivot.w;
            st.range_weight -= wl + pivot.w;
            st.lo = mid + 1;
            st.low.add(bl);
            st.low.add(pivot);
        }
    }
    if (!sorted) std::sort(st.lo, st.hi, less);
    T* m = st.hi;  // rounding left the target just above the total: everything goes low
    for (T* it = st.lo; it < st.hi; ++it) {
        if (st.acc + it->w >= target) {
            const double over = st.acc + it->w - target;
            const double under = target - st.acc;
            if (over <= under) {
                st.acc += it->w;
                m = it + 1;
            } else {
                m = it;
            }
            break;
        }
        st.acc += it->w;
    }
    // The open range is sorted and small (or a tail the round cap sorted): settle it.
    for (T* it = st.lo; it < m; ++it) st.low.add(*it);
    for (T* it = m; it < st.hi; ++it) st.high.add(*it);
    *low_weight = st.acc;
    low = st.low;
    high = st.high;
    return m;
}

template <class T>
struct Builder {
    std::int32_t* out_server;
    double* out_regions;
    KdNode* nodes;
    std::size_t parallel_min = 0;  // nodes at least this large split their work over threads

    // `box`, `total`: bounding box and weight of [b, e), found by the parent's selection (or
    // the copy, at the root), so each level reads its records only in the selection passes.
    // `me`: this node's preorder index. The low subtree of a node with k servers holds
    // floor(k/2) - 1 internal nodes, so the indices follow from k alone: threads need no
    // shared counter and the numbering never depends on the thread count.
    // `threads`: how many threads this subtree may use (1: all on the caller's).
    std::int32_t build(T* b, T* e, int s0, int k, const double lo[3], const double hi[3],
                       const Box& box, double total, std::int32_t me, int threads) {
        if (k == 1) {
            for (T* it = b; it != e; ++it) out_server[it->idx] = s0;
            for (int a = 0; a < 3; ++a) {
                out_regions[s0 * 6 + a] = lo[a];
                out_regions[s0 * 6 + 3 + a] = hi[a];
            }
            return -s0 - 1;
        }
        if (total <= 0.0 && b != e) {
            // Only weightless entities here: balance their counts instead.
            for (T* it = b; it != e; ++it) it->w = 1;
            total = static_cast<double>(e - b);
        }
        // Longest axis of the entities; of the region when they span nothing (0 or 1 entity,
        // or all at one point), so that empty regions are still cut compactly.
        int axis = 0;
        double best = -1.0;
        const bool spread = (e - b) >= 2;
        for (int a = 0; a < 3; ++a) {
            const double ext = spread ? box.hi[a] - box.lo[a] : 0.0;
            if (ext > best) best = ext, axis = a;
        }
        if (best <= 0.0) {
            best = -1.0;
            for (int a = 0; a < 3; ++a) {
                if (hi[a] - lo[a] > best) best = hi[a] - lo[a], axis = a;
            }
        }
        const int kl = k / 2;
        const double target = total * static_cast<double>(kl) / static_cast<double>(k);
        const std::uint64_t seed = (static_cast<std::uint64_t>(e - b) << 20) ^
                                   static_cast<std::uint64_t>(s0 * 131 + k);
        double lw = 0.0;
        Box lbox, rbox;
        T* m = weighted_select(b, e, axis, target, total, seed, &lw, lbox, rbox);
        const double rw = total - lw;
        const double lmax = lbox.hi[axis];
        const double rmin = rbox.lo[axis];
        double split;
        if (b != m && m != e) {
            split = lmax + (rmin - lmax) * 0.5;  // no overflow: |coordinates| <= 1e6
        } else if (m != e) {
            split = lo[axis] + (rmin - lo[axis]) * 0.5;  // low side empty
        } else if (b != m) {
            split = lmax + (hi[axis] - lmax) * 0.5;  // high side empty
        } else {
            split = lo[axis] + (hi[axis] - lo[axis]) * 0.5;
        }
        split = std::min(std::max(split, lo[axis]), hi[axis]);

        double lhi[3] = {hi[0], hi[1], hi[2]};
        double rlo[3] = {lo[0], lo[1], lo[2]};
        lhi[axis] = split;
        rlo[axis] = split;
        const std::int32_t left_me = me + 1;
        const std::int32_t right_me = me + kl;  // after the low subtree's kl - 1 nodes
        std::int32_t left = 0, right = 0;
        if (threads > 1 && static_cast<std::size_t>(e - b) >= parallel_min && kl > 1) {
            // Low subtree on a new thread, high subtree here; they touch disjoint items,
            // servers and nodes. An exception (bad_alloc) is carried back and rethrown.
            const int lt = threads / 2;
            std::exception_ptr err;
            std::thread worker([&] {
                try {
                    left = build(b, m, s0, kl, lo, lhi, lbox, lw, left_me, lt);
                } catch (...) {
                    err = std::current_exception();
                }
            });
            right = build(m, e, s0 + kl, k - kl, rlo, hi, rbox, rw, right_me, threads - lt);
            worker.join();
            if (err) std::rethrow_exception(err);
        } else {
            left = build(b, m, s0, kl, lo, lhi, lbox, lw, left_me, 1);
            right = build(m, e, s0 + kl, k - kl, rlo, hi, rbox, rw, right_me, 1);
        }
        nodes[me].axis = axis;
        nodes[me].split = split;
        nodes[me].left = left;
        nodes[me].right = right;
        return me;
    }
};

// Copies the entities into records of type T, measuring their box and weight in the same pass,
// and builds the tree over them.
template <class T>
void build_all(const double* positions, const double* weights, std::size_t count, int n_servers,
               std::int32_t* out_server, double* out_regions, KdNode* out_nodes, int workers) {
    // Uninitialised storage: every field is written below, and value-initialising each record
    // would be one more pass over the largest buffer.
    std::unique_ptr<T[]> items(new T[count]);
    Box box;
    double total = 0.0;
    for (std::size_t i = 0; i < count; ++i) {
        T& it = items[i];
        it.p[0] = positions[i * 3 + 0];
        it.p[1] = positions[i * 3 + 1];
        it.p[2] = positions[i * 3 + 2];
        // Exact: T is CompactItem only when every weight is a float (see kd_partition).
        it.w = static_cast<decltype(it.w)>(weights != nullptr ? weights[i] : 1.0);
        it.idx = static_cast<std::uint32_t>(i);
        box.add(it);
        total += it.w;
    }
    const double lo[3] = {-kMaxCoordinate, -kMaxCoordinate, -kMaxCoordinate};
    const double hi[3] = {kMaxCoordinate, kMaxCoordinate, kMaxCoordinate};
    Builder<T> builder{out_server, out_regions, out_nodes};
    builder.parallel_min = kParallelMinItems;
    T* first = items.get();
    builder.build(first, first + count, 0, n_servers, lo, hi, box, total, 0,
                  std::max(1, std::min(workers, kMaxWorkers)));
}

}  // namespace

void kd_partition(const double* positions, const double* weights, std::size_t count,
                  int n_servers, std::int32_t* out_server, double* out_regions,
                  KdNode* out_nodes, int workers) {
    bool compact = true;
    if (weights != nullptr) {
        for (std::size_t i = 0; i < count && compact; ++i) {
            compact = static_cast<double>(static_cast<float>(weights[i])) == weights[i];
        }
    }
    if (compact) {
        build_all<CompactItem>(positions, weights, count, n_servers, out_server, out_regions,
                               out_nodes, workers);
    } else {
        build_all<Item>(positions, weights, count, n_servers, out_server, out_regions, out_nodes,
                        workers);
    }
}

}  // namespace fbsim
