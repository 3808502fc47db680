// SPDX-License-Identifier: MIT
// The validation predicates report the first bad element and its kind.
#include <cmath>
#include <limits>

#include "check.hpp"
#include "fbsim/validate.hpp"

using namespace fbsim;

int main() {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double v[] = {0, 1, 2, 3, nan, 5};
    Status s = first_invalid(v, 2, 3, kMaxCoordinate);
    CHECK(s.code == ErrorCode::kNotFinite);
    CHECK(s.index == 1 && s.component == 1);

    const double big[] = {0, -2e6, 0};
    s = first_invalid(big, 1, 3, kMaxCoordinate);
    CHECK(s.code == ErrorCode::kOutOfRange && s.component == 1);

    const double quats[] = {0, 0, 0, 1, 0, 0, 0, 0};
    s = validate_quats(quats, 2);
    CHECK(s.code == ErrorCode::kZeroQuaternion && s.index == 1);

    const double reflection[] = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
    CHECK(validate_rotation_matrices(reflection, 1).code == ErrorCode::kNotRotation);
    const double identity[] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    CHECK(validate_rotation_matrices(identity, 1).ok());

    const double c[] = {0, 0, 0}, q[] = {0, 0, 0, 1}, h[] = {1, -1, 1};
    int which = -1;
    s = validate_obb_arrays(c, q, h, 1, &which);
    CHECK(s.code == ErrorCode::kNegative && which == 2 && s.component == 1);
    TEST_MAIN_END();
}
