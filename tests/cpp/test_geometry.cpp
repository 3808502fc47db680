// SPDX-License-Identifier: MIT
// Analytic cases for the geometry conversions.
#include <cmath>

#include "check.hpp"
#include "fbsim/geometry.hpp"

using namespace fbsim;

static void test_quat_to_matrix_quarter_turn_about_y() {
    // 90 degrees about +y maps +x to -z (right-handed).
    const double h = std::sqrt(0.5);
    const Vec3 v = rotate({0, h, 0, h}, {1, 0, 0});
    CHECK_NEAR(v.x, 0.0, 1e-15);
    CHECK_NEAR(v.y, 0.0, 1e-15);
    CHECK_NEAR(v.z, -1.0, 1e-15);
    const Mat3 r = quat_to_matrix({0, 2 * h, 0, 2 * h});  // non-unit norm is normalised
    CHECK_NEAR(r.m[2][0], -1.0, 1e-15);
    CHECK_NEAR(r.m[0][2], 1.0, 1e-15);
}

static void test_matrix_to_quat_round_trip_near_half_turn() {
    // 180 degrees about (1, 1, 0)/sqrt(2): w == 0, the hard case for the trace formula.
    const double h = std::sqrt(0.5);
    const Quat q = matrix_to_quat(quat_to_matrix({h, h, 0, 0}));
    CHECK_NEAR(q.x, h, 1e-15);
    CHECK_NEAR(q.y, h, 1e-15);
    CHECK_NEAR(q.z, 0.0, 1e-15);
    CHECK_NEAR(q.w, 0.0, 1e-15);
    const Quat neg = matrix_to_quat(quat_to_matrix({-0.1, 0.2, -0.3, -0.9}));
    CHECK(neg.w > 0);  // canonical sign
}

static void test_obb_to_aabb_rotated_cube() {
    // A unit cube (half extent 0.5) turned 45 degrees about y spans sqrt(2)/2 in x and z.
    const double a = M_PI / 8;
    const Aabb b = obb_to_aabb({{1, 2, 3}, {0, std::sin(a), 0, std::cos(a)}, {0.5, 0.5, 0.5}});
    CHECK_NEAR(b.max.x - 1, std::sqrt(0.5), 1e-15);
    CHECK_NEAR(b.max.y - 2, 0.5, 1e-15);
    CHECK_NEAR(b.min.z - 3, -std::sqrt(0.5), 1e-15);
}

static void test_capsule_and_hull_aabb() {
    const Aabb c = capsule_to_aabb({{0, 0, 0}, {0, 3, -1}, 0.5});
    CHECK_NEAR(c.min.z, -1.5, 0);
    CHECK_NEAR(c.max.y, 3.5, 0);
    const double pts[] = {1, 2, 3, -1, 5, 0, 0, 0, 7};
    const Aabb h = hull_to_aabb({pts, 3});
    CHECK_NEAR(h.min.x, -1, 0);
    CHECK_NEAR(h.max.y, 5, 0);
    CHECK_NEAR(h.max.z, 7, 0);
}

int main() {
    test_quat_to_matrix_quarter_turn_about_y();
    test_matrix_to_quat_round_trip_near_half_turn();
    test_obb_to_aabb_rotated_cube();
    test_capsule_and_hull_aabb();
    TEST_MAIN_END();
}
