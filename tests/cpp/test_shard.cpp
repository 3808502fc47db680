// SPDX-License-Identifier: MIT
// kd_partition core: analytic splits, exact counts for non-power-of-two server counts, ties,
// empty input, tiling regions, and weight validation. No Python involved.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "fbsim/shard.hpp"
#include "fbsim/validate.hpp"

using namespace fbsim;

namespace {

struct Out {
    std::vector<std::int32_t> server;
    std::vector<double> regions;
    std::vector<KdNode> nodes;
};

Out run(const std::vector<double>& pos, const std::vector<double>* w, int k, int workers = 1) {
    Out o;
    const std::size_t n = pos.size() / 3;
    o.server.assign(n, -7);
    o.regions.assign(static_cast<std::size_t>(k) * 6, 0.0);
    o.nodes.resize(static_cast<std::size_t>(k - 1));
    kd_partition(pos.data(), w ? w->data() : nullptr, n, k, o.server.data(), o.regions.data(),
                 o.nodes.data(), workers);
    return o;
}

void test_line_split() {
    std::vector<double> pos;
    for (int i = 0; i < 10; ++i) pos.insert(pos.end(), {double(i), 0.1 * i, 0.0});
    Out o = run(pos, nullptr, 2);
    for (int i = 0; i < 10; ++i) CHECK(o.server[i] == (i < 5 ? 0 : 1));
    CHECK(o.nodes[0].axis == 0);
    CHECK(o.nodes[0].split == 4.5);
    CHECK(o.nodes[0].left == -1 && o.nodes[0].right == -2);
    CHECK(o.regions[3] == 4.5 && o.regions[6] == 4.5);
    CHECK(o.regions[0] == -kMaxCoordinate && o.regions[9] == kMaxCoordinate);
}

void test_counts_exact_for_any_k() {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(-100, 100);
    for (int k : {1, 2, 3, 5, 7, 13, 64, 100}) {
        const int per = 37;
        std::vector<double> pos(static_cast<std::size_t>(k * per * 3));
        for (double& v : pos) v = u(rng);
        Out o = run(pos, nullptr, k);
        std::vector<int> counts(static_cast<std::size_t>(k), 0);
        for (std::int32_t s : o.server) {
            CHECK(s >= 0 && s < k);
            if (s >= 0 && s < k) ++counts[static_cast<std::size_t>(s)];
        }
        for (int c : counts) CHECK(c == per);
        // every point in its (closed) region; region volumes sum to the world
        double vol = 0;
        for (int s = 0; s < k; ++s) {
            const double* r = &o.regions[static_cast<std::size_t>(s) * 6];
            vol += (r[3] - r[0]) * (r[4] - r[1]) * (r[5] - r[2]) / std::pow(2 * kMaxCoordinate, 3);
        }
        CHECK_NEAR(vol, 1.0, 1e-9);
        for (std::size_t i = 0; i < o.server.size(); ++i) {
            const double* r = &o.regions[static_cast<std::size_t>(o.server[i]) * 6];
            for (int a = 0; a < 3; ++a) CHECK(pos[i * 3 + a] >= r[a] && pos[i * 3 + a] <= r[3 + a]);
        }
    }
}

void test_all_ties_and_empty() {
    std::vector<double> pos(300, 1.25);  // 100 entities at one point
    Out o = run(pos, nullptr, 4);
    std::vector<int> counts(4, 0);
    for (std::int32_t s : o.server) ++counts[static_cast<std::size_t>(s)];
    for (int c : counts) CHECK(c == 25);
    Out e = run({}, nullptr, 5);  // no entities: still 5 tiling regions
    double vol = 0;
    for (int s = 0; s < 5; ++s) {
        const double* r = &e.regions[static_cast<std::size_t>(s) * 6];
        CHECK(r[0] <= r[3] && r[1] <= r[4] && r[2] <= r[5]);
        vol += (r[3] - r[0]) * (r[4] - r[1]) * (r[5] - r[2]) / std::pow(2 * kMaxCoordinate, 3);
    }
    CHECK_NEAR(vol, 1.0, 1e-9);
}

void test_weighted() {
    std::vector<double> pos, w;
    for (int i = 0; i < 10; ++i) {
        pos.insert(pos.end(), {double(i), 0, 0});
        w.push_back(i == 9 ? 9.0 : 1.0);
    }
    Out o = run(pos, &w, 2);
    for (int i = 0; i < 10; ++i) CHECK(o.server[i] == (i < 9 ? 0 : 1));
    std::vector<double> zero(10, 0.0);  // all weightless: counts are balanced
    Out z = run(pos, &zero, 2);
    for (int i = 0; i < 10; ++i) CHECK(z.server[i] == (i < 5 ? 0 : 1));
}

void test_validate_weights() {
    const double good[3] = {0.0, 1.0, kMaxShardWeight};
    CHECK(validate_shard_weights(good, 3).ok());
    const double neg[3] = {1.0, -0.5, 1.0};
    Status st = validate_shard_weights(neg, 3);
    CHECK(st.code == ErrorCode::kNegative && st.index == 1);
    const double nan[2] = {1.0, std::nan("")};
    st = validate_shard_weights(nan, 2);
    CHECK(st.code == ErrorCode::kNotFinite && st.index == 1);
    const double big[1] = {2 * kMaxShardWeight};
    CHECK(validate_shard_weights(big, 1).code == ErrorCode::kOutOfRange);
}

void test_sorted_input_is_fine() {
    // already-sorted and reverse-sorted input: the seeded pivot keeps selection linear and
    // the result exact
    const int n = 200000;
    std::vector<double> pos(static_cast<std::size_t>(n) * 3, 0.0);
    for (int i = 0; i < n; ++i) pos[static_cast<std::size_t>(i) * 3] = double(n - i);
    Out o = run(pos, nullptr, 64);
    std::vector<int> counts(64, 0);
    for (std::int32_t s : o.server) ++counts[static_cast<std::size_t>(s)];
    const auto [mn, mx] = std::minmax_element(counts.begin(), counts.end());
    CHECK(*mx - *mn <= 1);
}

void test_workers_do_not_change_the_result() {
    std::mt19937_64 rng(9);
    std::uniform_real_distribution<double> u(-1000, 1000);
    std::vector<double> pos(300000 * 3), w(300000);
    for (double& v : pos) v = std::round(u(rng));  // many ties
    for (double& v : w) v = (rng() % 10 == 0) ? 10.0 : 1.0;
    for (int k : {2, 37, 64}) {
        const Out a = run(pos, &w, k, 1);
        for (int workers : {2, 3, 8}) {
            const Out b = run(pos, &w, k, workers);
            CHECK(a.server == b.server);
            CHECK(a.regions == b.regions);
            for (std::size_t i = 0; i < a.nodes.size(); ++i) {
                CHECK(a.nodes[i].axis == b.nodes[i].axis && a.nodes[i].split == b.nodes[i].split &&
                      a.nodes[i].left == b.nodes[i].left && a.nodes[i].right == b.nodes[i].right);
            }
        }
    }
}

void test_compact_and_wide_records_agree() {
    // Weights exact as floats use 32-byte records, others 40-byte ones. Adding 2^-30 to every
    // weight leaves each side's share of the total unchanged in exact arithmetic (the same
    // count of entities gets it on both sides of a balanced cut), so the two runs must agree.
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(-3000, 3000);
    const std::size_t n = 100000;
    std::vector<double> pos(n * 3), w(n), w_wide(n);
    for (double& v : pos) v = u(rng);
    for (std::size_t i = 0; i < n; ++i) {
        w[i] = 1.0;  // equal weights: any exact weighting gives the count split
        w_wide[i] = 1.0 + std::ldexp(1.0, -30);
    }
    CHECK(static_cast<double>(static_cast<float>(w_wide[0])) != w_wide[0]);
    for (int k : {2, 7, 64}) {
        const Out a = run(pos, &w, k);
        const Out b = run(pos, &w_wide, k);
        CHECK(a.server == b.server);
        CHECK(a.regions == b.regions);
    }
}

}  // namespace

int main() {
    test_compact_and_wide_records_agree();
    test_workers_do_not_change_the_result();
    test_line_split();
    test_counts_exact_for_any_k();
    test_all_ties_and_empty();
    test_weighted();
    test_validate_weights();
    test_sorted_input_is_fine();
    TEST_MAIN_END();
}
