// SPDX-License-Identifier: MIT
// C++ tests of the narrow phase: analytic box, sphere, capsule and hull cases, degeneracies,
// tolerance semantics, casts, batch broadcasting and validation. References are closed-form.
#include <cmath>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "fbsim/narrowphase.hpp"

using namespace fbsim;

namespace {

const Quat kIdentity{0, 0, 0, 1};

Quat about_axis(Vec3 axis, double degrees) {
    const double half = degrees * M_PI / 360.0;
    const double s = std::sin(half) / length(axis);
    return {axis.x * s, axis.y * s, axis.z * s, std::cos(half)};
}

void test_sat_face_contacts() {
    const Obb a{{0, 0, 0}, kIdentity, {1, 1, 1}};
    for (double origin : {0.0, 1e5}) {
        const Obb a2{{origin, origin, -origin}, kIdentity, {1, 1, 1}};
        const Obb touching{{origin + 2, origin + 0.5, -origin}, kIdentity, {1, 1, 1}};
        CHECK(!sat_obb_overlap(a2, touching, 0.0));  // flush placement is legal
        const Obb inside{{origin + 1.9, origin, -origin}, kIdentity, {1, 1, 1}};
        CHECK(sat_obb_overlap(a2, inside, 0.0));
        CHECK(sat_obb_overlap(a2, inside, 0.09));
        CHECK(!sat_obb_overlap(a2, inside, 0.11));
        const PenetrationResult p = sat_obb_penetration(a2, inside);
        CHECK_NEAR(p.depth, 0.1, 1e-9);
        CHECK_NEAR(p.normal.x, 1.0, 1e-12);
    }
    // Identical boxes: depth is twice the smallest half extent.
    const Obb b{{0, 0, 0}, about_axis({1, 2, 3}, 40), {0.5, 2, 3}};
    CHECK_NEAR(sat_obb_penetration(b, b).depth, 1.0, 1e-12);
    CHECK(sat_obb_overlap(a, a, 0.0));
}

void test_sat_edge_edge_and_parallel() {
    const double h = 1.0, top = std::sqrt(2.0) * h;
    const Obb a{{0, 0, 0}, about_axis({1, 0, 0}, 45), {h, h, h}};
    // b: rotated 45 degrees about z: its lowest feature is an edge along z.
    for (double gap : {0.1, 1e-5}) {
        const Obb sep{{0, 2 * top + gap, 0}, about_axis({0, 0, 1}, 45), {h, h, h}};
        CHECK(!sat_obb_overlap(a, sep, 0.0));
        const Obb pen{{0, 2 * top - gap, 0}, about_axis({0, 0, 1}, 45), {h, h, h}};
        CHECK(sat_obb_overlap(a, pen, 0.0));
        CHECK_NEAR(sat_obb_penetration(a, pen).depth, gap, 1e-9);
        const DistanceResult d = gjk_distance(make_convex(a), make_convex(sep));
        CHECK_NEAR(d.distance, gap, 1e-9);
        CHECK(d.converged);
    }
    // Parallel edges (all cross axes degenerate) must not fake a separation or a zero depth.
    const Obb big{{0, 0, 0}, kIdentity, {2, 3, 4}};
    const Obb nested{{0.5, 0, 0}, kIdentity, {0.5, 0.5, 0.5}};
    CHECK(sat_obb_overlap(big, nested, 0.0));
    CHECK_NEAR(sat_obb_penetration(big, nested).depth, 2.0, 1e-12);
}

void test_thin_boxes() {
    const Obb a{{0, 0, 0}, kIdentity, {1, 1e-6, 1}};
    const Obb b{{0.5, 3e-6, 0.5}, kIdentity, {1, 1e-6, 1}};
    CHECK(!sat_obb_overlap(a, b, 0.0));
    CHECK_NEAR(gjk_distance(make_convex(a), make_convex(b)).distance, 1e-6, 1e-12);
    const Obb c{{0.5, 1e-6, 0.5}, kIdentity, {1, 1e-6, 1}};
    CHECK(sat_obb_overlap(a, c, 0.0));
}

void test_round_shapes() {
    const Convex s1 = make_convex(Sphere{{0, 0, 0}, 1.0});
    const Convex s2 = make_convex(Sphere{{3, 4, 0}, 1.0});
    const DistanceResult d = gjk_distance(s1, s2);
    CHECK_NEAR(d.distance, 3.0, 1e-12);
    CHECK_NEAR(d.point_a.x, 0.6, 1e-12);
    CHECK_NEAR(d.point_b.y, 3.2, 1e-12);
    const Convex cap = make_convex(Capsule{{0, -5, 0}, {0, 5, 0}, 0.5});
    CHECK_NEAR(gjk_distance(cap, make_convex(Sphere{{2, 1, 0}, 0.5})).distance, 1.0, 1e-12);
    // Sphere centre inside a box: EPA depth = radius + distance to the nearest face.
    const Convex box = make_convex(Obb{{0, 0, 0}, kIdentity, {1, 2, 3}});
    const PenetrationResult p = epa_penetration(box, make_convex(Sphere{{0.5, 0, 0}, 0.25}));
    CHECK_NEAR(p.depth, 0.75, 1e-9);
    CHECK_NEAR(p.normal.x, 1.0, 1e-9);
    CHECK(!convex_overlap(s1, make_convex(Sphere{{2, 0, 0}, 1.0}), 0.0));  // touching
    CHECK(convex_overlap(s1, make_convex(Sphere{{1.9, 0, 0}, 1.0}), 0.0));
    CHECK(!convex_overlap(s1, make_convex(Sphere{{1.9, 0, 0}, 1.0}), 0.2));
}

void test_hull_matches_box() {
    const double pts[] = {-1, -1, -1, 1, -1, -1, -1, 1, -1, 1, 1, -1,
                          -1, -1, 1,  1, -1, 1,  -1, 1, 1,  1, 1, 1,  0, 0, 0};
    const Convex hull = make_convex(ConvexHull{pts, 9});
    const Convex box = make_convex(Obb{{0, 0, 0}, kIdentity, {1, 1, 1}});
    const Convex other = make_convex(Obb{{1.5, 2.7, 0.2}, about_axis({1, 1, 0}, 30), {0.5, 0.5, 0.5}});
    CHECK_NEAR(gjk_distance(hull, other).distance, gjk_distance(box, other).distance, 1e-12);
    const Convex deep = make_convex(Obb{{1.2, 0.3, 0.2}, about_axis({1, 1, 0}, 30), {0.5, 0.5, 0.5}});
    CHECK_NEAR(epa_penetration(hull, deep).depth, epa_penetration(box, deep).depth, 1e-8);
}

void test_casts() {
    const Convex wall = make_convex(Obb{{5, 0, 0}, kIdentity, {1, 10, 10}});
    CastResult r = raycast(wall, {0, 0, 0}, {2, 0, 0}, 100.0);
    CHECK_NEAR(r.t, 4.0, 1e-9);
    CHECK_NEAR(r.normal.x, -1.0, 1e-9);
    r = raycast(wall, {0, 0, 0}, {-1, 0, 0}, 100.0);
    CHECK(std::isinf(r.t));
    r = raycast(wall, {0, 0, 0}, {1, 0, 0}, 3.0);  // too short
    CHECK(std::isinf(r.t));
    r = raycast(wall, {5, 0, 0}, {1, 0, 0}, 3.0);  // starts inside
    CHECK(r.t == 0.0);
    const Convex player = make_convex(Capsule{{0, 0, 0}, {0, 2, 0}, 0.5});
    r = shapecast(player, {10, 0, 0}, wall);
    CHECK_NEAR(r.t, 0.35, 1e-9);
    CHECK_NEAR(r.normal.x, -1.0, 1e-9);
    r = shapecast(player, {0, 10, 0}, wall);
    CHECK(std::isinf(r.t));
    const Convex ball = make_convex(Sphere{{0, 0, 0}, 1.0});
    r = shapecast(ball, {10, 0, 0}, make_convex(Sphere{{6, 1, 0}, 1.0}));
    // Centres meet at distance 2: (10 s - 6)^2 + 1 = 4 -> s = (6 - sqrt(3)) / 10.
    CHECK_NEAR(r.t, (6 - std::sqrt(3.0)) / 10, 1e-9);
}

void test_batches_broadcast_and_validate() {
    const double centers[] = {0, 0, 0, 3, 0, 0, 1.5, 0, 0};
    const double quats[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    const double halves[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const ShapeBatch many{ShapeKind::kBox, 3, centers, quats, halves};
    const ShapeBatch one{ShapeKind::kBox, 1, centers, quats, halves};
    std::uint8_t out[3] = {9, 9, 9};
    overlap_batch(one, many, 0.0, {}, out);
    CHECK(out[0] == 1 && out[1] == 0 && out[2] == 1);
    CHECK(pair_count(3, 1) == 3 && pair_count(1, 3) == 3 && pair_count(2, 3) == SIZE_MAX);
    CHECK(pair_count(0, 1) == 0 && pair_count(0, 5) == SIZE_MAX);
    const char* field = nullptr;
    CHECK(validate_shape_batch(many, &field).ok() && field == nullptr);
    const double bad_quats[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    const ShapeBatch bad{ShapeKind::kBox, 3, centers, bad_quats, halves};
    const Status st = validate_shape_batch(bad, &field);
    CHECK(st.code == ErrorCode::kZeroQuaternion && st.index == 1);
    const double nan_center[] = {0, NAN, 0};
    const double radius[] = {1.0};
    ShapeBatch sph{};
    sph.kind = ShapeKind::kSphere;
    sph.count = 1;
    sph.centers = nan_center;
    sph.radii = radius;
    CHECK(validate_shape_batch(sph, &field).code == ErrorCode::kNotFinite);
    const std::int64_t offsets[] = {0, 2, 2};
    ShapeBatch hulls{};
    hulls.kind = ShapeKind::kHull;
    hulls.count = 2;
    hulls.points = centers;
    hulls.offsets = offsets;
    CHECK(validate_shape_batch(hulls, &field).code == ErrorCode::kEmpty);
}

// Deterministic random pairs of every kind through every query: finite answers and the
// invariants that tie them together (run under ASan/UBSan with FBSIM_SANITIZE=ON).
void test_random_pairs_invariants() {
    std::uint64_t state = 12345;
    auto uniform = [&state](double lo, double hi) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return lo + (hi - lo) * static_cast<double>(state >> 11) * 0x1.0p-53;
    };
    auto vec = [&](double lo, double hi) { return Vec3{uniform(lo, hi), uniform(lo, hi), uniform(lo, hi)}; };
    std::vector<double> hull_points;
    auto random_convex = [&](int kind) {
        const Vec3 c = vec(-1.5, 1.5);
        switch (kind) {
            case 0:
                return make_convex(Obb{c, {uniform(-1, 1), uniform(-1, 1), uniform(-1, 1), uniform(0.1, 1)},
                                       vec(0.0, 1.0)});
            case 1:
                return make_convex(Sphere{c, uniform(0.0, 1.0)});
            case 2:
                return make_convex(Capsule{c, c + vec(-1, 1), uniform(0.0, 0.6)});
            default: {
                hull_points.clear();
                const int k = 1 + static_cast<int>(uniform(0, 10));
                for (int i = 0; i < 3 * k; ++i) hull_points.push_back(uniform(-0.7, 0.7));
                for (int i = 0; i < k; ++i) {
                    hull_points[3 * i] += c.x;
                    hull_points[3 * i + 1] += c.y;
                    hull_points[3 * i + 2] += c.z;
                }
                return make_convex(ConvexHull{hull_points.data(), static_cast<std::size_t>(k)});
            }
        }
    };
    int bad = 0;
    for (int i = 0; i < 20000; ++i) {
        const Convex a = random_convex(i % 3);  // the hull buffer is reused: b may be a hull
        const Convex b = random_convex((i / 3) % 4);
        const DistanceResult d = gjk_distance(a, b);
        const PenetrationResult p = epa_penetration(a, b);
        const bool ov = convex_overlap(a, b, 0.0);
        bad += !std::isfinite(d.distance) || !std::isfinite(p.depth) || d.distance < 0 || p.depth < 0;
        bad += (ov && d.distance > 1e-9) || (d.distance > 1e-9 && p.depth > 0.0);
        const CastResult r = shapecast(a, vec(-3, 3), b);
        bad += !(std::isinf(r.t) || (r.t >= 0.0 && r.t <= 1.0));
    }
    CHECK(bad == 0);
}

}  // namespace

int main() {
    test_random_pairs_invariants();
    test_sat_face_contacts();
    test_sat_edge_edge_and_parallel();
    test_thin_boxes();
    test_round_shapes();
    test_hull_matches_box();
    test_casts();
    test_batches_broadcast_and_validate();
    TEST_MAIN_END();
}
