// SPDX-License-Identifier: MIT
// The one-pass merge of SpatialHash's main index (private cell_index.hpp: Run::plan_splice,
// Run::splice) against an independent reference: the surviving old entries and the new ones
// sorted by std::sort. Random runs with many equal cell keys and shared min x (ties broken by
// slot), dropped positions anywhere (first, last, runs of them), new entries landing before,
// between and after everything, on a dropped entry's own (key, min x, slot) (a box moved back
// to its old place), batches that add more than they drop and the reverse; every position
// whose entry changed must be reported as placed (the caller rewrites pos[] from that).
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "cell_index.hpp"
#include "check.hpp"

using namespace fbsim::detail::cells;

namespace {

Entry random_entry(std::mt19937& rng, std::uint32_t slot, int spread) {
    std::uniform_int_distribution<int> c(0, spread), lvl(0, 1), x(-3, 3);
    Entry e{};
    e.key = make_key(lvl(rng), c(rng), c(rng), c(rng));
    for (int d = 0; d < 3; ++d) {
        e.lo[d] = x(rng);
        e.hi[d] = e.lo[d] + 1;
    }
    e.slot = slot;
    e.rank = slot * 7 + 1;
    return e;
}

bool same(const Entry& a, const Entry& b) {
    bool eq = a.key == b.key && a.slot == b.slot && a.rank == b.rank;
    for (int d = 0; d < 3; ++d) eq = eq && a.lo[d] == b.lo[d] && a.hi[d] == b.hi[d];
    return eq;
}

void one_case(std::mt19937& rng, std::size_t n, std::size_t drop, std::size_t add, int spread) {
    std::vector<Entry> old(n);
    for (std::size_t i = 0; i < n; ++i) old[i] = random_entry(rng, static_cast<std::uint32_t>(i), spread);
    std::sort(old.begin(), old.end(), entry_less);
    Run r;
    r.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        r.put(i, old[i]);
        ++r.level_count[key_level(old[i].key)];
    }
    std::vector<std::uint32_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = static_cast<std::uint32_t>(i);
    std::shuffle(all.begin(), all.end(), rng);
    std::vector<std::uint32_t> gone(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(drop, n)));
    std::sort(gone.begin(), gone.end());
    std::vector<Entry> es;
    for (std::size_t j = 0; j < add; ++j) {
        // A third of them re-take a dropped entry's exact place (moved back home).
        if (!gone.empty() && rng() % 3 == 0) {
            const Entry back = old[gone[rng() % gone.size()]];
            bool taken = false;
            for (const Entry& e : es) taken = taken || e.slot == back.slot;
            if (!taken) {
                es.push_back(back);
                continue;
            }
        }
        es.push_back(random_entry(rng, static_cast<std::uint32_t>(n + j), spread));
    }
    std::sort(es.begin(), es.end(), entry_less);
    // The reference: survivors and new entries, sorted.
    std::vector<Entry> expect;
    for (std::size_t i = 0; i < n; ++i)
        if (!std::binary_search(gone.begin(), gone.end(), static_cast<std::uint32_t>(i))) expect.push_back(old[i]);
    expect.insert(expect.end(), es.begin(), es.end());
    std::sort(expect.begin(), expect.end(), entry_less);

    r.reserve(expect.size());
    const Run::SplicePlan plan = r.plan_splice(gone, es);
    std::vector<char> placed(expect.size() + n + 1, 0);
    r.splice(plan, gone, es, [&](std::size_t a, std::size_t b) {
        for (std::size_t p = a; p < b; ++p) placed[p] = 1;
    });
    CHECK(r.size() == expect.size());
    if (r.size() != expect.size()) return;
    std::size_t per_level[kLevels] = {};
    for (std::size_t i = 0; i < expect.size(); ++i) {
        CHECK(same(r.entry_at(i), expect[i]));
        ++per_level[key_level(expect[i].key)];
        // Unchanged positions need no pos[] fix-up; every changed one must be reported.
        const bool changed = i >= n || !same(old[i], expect[i]);
        CHECK(!changed || placed[i]);
    }
    for (int l = 0; l < kLevels; ++l) CHECK(per_level[l] == r.level_count[l]);
}

}  // namespace

int main() {
    std::mt19937 rng(4);
    for (int t = 0; t < 3000; ++t) {
        const std::size_t n = rng() % 200;
        const std::size_t drop = n == 0 ? 0 : rng() % (n + 1);
        const std::size_t add = rng() % 120;
        one_case(rng, n, drop, add, t % 3 == 0 ? 0 : 4);  // spread 0: every key equal
    }
    one_case(rng, 0, 0, 50, 2);     // into an empty run
    one_case(rng, 100, 100, 0, 2);  // everything dropped
    one_case(rng, 100, 0, 0, 2);    // nothing to do
    return fbsim_test::failures == 0 ? 0 : 1;
}
