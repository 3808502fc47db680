// SPDX-License-Identifier: MIT
// fbsim: validity predicates shared by the core, the Python bindings, Cython and C++ servers.
// Call the matching validate_* before a kernel: kernels assume valid input and do not check.
#pragma once

#include <cstddef>

#include "fbsim/status.hpp"

namespace fbsim {

/// Largest accepted absolute coordinate or size, studs. Geometry stays exact to the placement
/// tolerance (1e-3 studs) up to +-1e5; past kMaxCoordinate inputs are rejected, so that squared
/// distances and products of two coordinates can never overflow a double.
inline constexpr double kMaxCoordinate = 1e6;

/// Quaternions whose Euclidean norm is below this are rejected as "zero": their direction,
/// and so the rotation, is numerically meaningless.
inline constexpr double kMinQuaternionNorm = 1e-9;

/// Largest accepted absolute quaternion component (quaternions are normalised by the kernels;
/// the limit only keeps the squared norm finite).
inline constexpr double kMaxQuaternionComponent = 1e150;

/// First element of `values[0 .. rows*cols)` that is NaN, inf, or has |v| > limit.
/// Reports the row and column of that element. O(rows*cols), no allocation, thread-safe.
Status first_invalid(const double* values, std::size_t rows, std::size_t cols,
                     double limit) noexcept;

/// First negative element of `values[0 .. rows*cols)` (kNegative). Assumes finite values.
Status first_negative(const double* values, std::size_t rows, std::size_t cols) noexcept;

/// Quaternions (x, y, z, w), `count` rows of 4: finite, components within
/// kMaxQuaternionComponent, and norm >= kMinQuaternionNorm. Non-unit norms are fine: every
/// kernel normalises. O(count), no allocation, thread-safe.
Status validate_quats(const double* quats, std::size_t count) noexcept;

/// Rotation matrices, `count` row-major 3x3 blocks: finite, orthonormal within `tolerance`
/// (max |R^T R - I| entry) and determinant +1 (not a reflection).
Status validate_rotation_matrices(const double* matrices, std::size_t count,
                                  double tolerance = 1e-6) noexcept;

/// Oriented boxes given as parallel arrays: centers (count x 3) and half_extents (count x 3)
/// within kMaxCoordinate, half extents >= 0, quats (count x 4) valid per validate_quats.
/// `out_failed_array` receives which array failed (0 centers, 1 quats, 2 half_extents; -1 none);
/// the Status' index and component locate the bad element within that array.
Status validate_obb_arrays(const double* centers, const double* quats,
                           const double* half_extents, std::size_t count,
                           int* out_failed_array) noexcept;

}  // namespace fbsim
