// SPDX-License-Identifier: MIT
// fbsim: input validation. One pass per array, reporting the first bad element so error
// messages can name it. These run on every call that takes outside input, so they are plain
// loops the compiler vectorises well; nothing allocates.
#include "fbsim/validate.hpp"

#include <cmath>

namespace fbsim {

namespace {

Status make_status(ErrorCode code, std::size_t flat, std::size_t cols, double value) noexcept {
    Status s;
    s.code = code;
    s.index = cols ? flat / cols : 0;
    s.component = static_cast<std::uint8_t>(cols ? flat % cols : 0);
    s.value = value;
    return s;
}

}  // namespace

Status first_invalid(const double* values, std::size_t rows, std::size_t cols,
                     double limit) noexcept {
    const std::size_t n = rows * cols;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = values[i];
        // One comparison catches both: NaN fails every comparison, inf exceeds any limit.
        if (!(std::fabs(v) <= limit)) {
            const ErrorCode code = std::isfinite(v) ? ErrorCode::kOutOfRange : ErrorCode::kNotFinite;
            return make_status(code, i, cols, v);
        }
    }
    return {};
}

Status first_negative(const double* values, std::size_t rows, std::size_t cols) noexcept {
    const std::size_t n = rows * cols;
    for (std::size_t i = 0; i < n; ++i) {
        if (values[i] < 0.0) return make_status(ErrorCode::kNegative, i, cols, values[i]);
    }
    return {};
}

Status validate_quats(const double* quats, std::size_t count) noexcept {
    Status s = first_invalid(quats, count, 4, kMaxQuaternionComponent);
    if (!s.ok()) return s;
    for (std::size_t i = 0; i < count; ++i) {
        const double* q = quats + 4 * i;
        const double norm = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
        if (!(norm >= kMinQuaternionNorm)) {
            s.code = ErrorCode::kZeroQuaternion;
            s.index = i;
            s.component = 0;
            s.value = norm;
            return s;
        }
    }
    return s;
}

Status validate_rotation_matrices(const double* matrices, std::size_t count,
                                  double tolerance) noexcept {
    // Rotation entries are within [-1, 1]; anything beyond 2 is certainly not a rotation, and
    // the bound keeps the products below finite.
    Status s = first_invalid(matrices, count, 9, kMaxCoordinate);
    if (!s.ok()) return s;
    for (std::size_t i = 0; i < count; ++i) {
        const double* r = matrices + 9 * i;
        double worst = 0.0;
        for (int a = 0; a < 3; ++a) {
            for (int b = 0; b < 3; ++b) {
                // (R^T R)[a][b] = column a . column b
                const double d = r[a] * r[b] + r[3 + a] * r[3 + b] + r[6 + a] * r[6 + b];
                worst = std::fmax(worst, std::fabs(d - (a == b ? 1.0 : 0.0)));
            }
        }
        const double det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) +
                           r[2] * (r[3] * r[7] - r[4] * r[6]);
        if (!(worst <= tolerance) || !(det > 0.0)) {
            s.code = ErrorCode::kNotRotation;
            s.index = i;
            s.component = 0;
            s.value = det > 0.0 ? worst : det;
            return s;
        }
    }
    return s;
}

Status validate_obb_arrays(const double* centers, const double* quats,
                           const double* half_extents, std::size_t count,
                           int* out_failed_array) noexcept {
    int failed = -1;
    Status s = first_invalid(centers, count, 3, kMaxCoordinate);
    if (!s.ok()) {
        failed = 0;
    } else if (s = validate_quats(quats, count); !s.ok()) {
        failed = 1;
    } else if (s = first_invalid(half_extents, count, 3, kMaxCoordinate); !s.ok()) {
        failed = 2;
    } else if (s = first_negative(half_extents, count, 3); !s.ok()) {
        failed = 2;
    }
    if (out_failed_array) *out_failed_array = failed;
    return s;
}

}  // namespace fbsim
