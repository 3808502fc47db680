// SPDX-License-Identifier: MIT
// fbsim: the error report every validating function returns. The core never throws for bad data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fbsim {

/// What was wrong with an input. `kOk` means nothing was.
enum class ErrorCode : std::uint8_t {
    kOk = 0,
    kNotFinite,         ///< NaN or +-inf where a real number is required.
    kOutOfRange,        ///< Magnitude above the documented limit (e.g. kMaxCoordinate).
    kNegative,          ///< Negative size (half extent, radius).
    kZeroQuaternion,    ///< Quaternion norm too small to define a rotation.
    kNotRotation,       ///< Matrix is not orthonormal with determinant +1.
    kEmpty,             ///< A shape that needs points has none (e.g. an empty convex hull).
};

/// Result of a validation pass: the first offending element, in row-major order.
/// `index` is the row (item) and `component` the column within it; `value` is the bad value
/// (or the derived quantity that was bad, such as a quaternion norm).
struct Status {
    ErrorCode code = ErrorCode::kOk;  ///< kOk when everything was valid.
    std::size_t index = 0;            ///< Row of the first bad item.
    std::uint8_t component = 0;       ///< Column of the first bad value within that row.
    double value = 0.0;               ///< The offending value, for the error message.

    /// True when no error was found.
    constexpr bool ok() const noexcept { return code == ErrorCode::kOk; }
};

/// Short English description of an error code ("is nan or inf", ...), for messages.
/// Returns a pointer to a static string; never null.
const char* error_message(ErrorCode code) noexcept;

}  // namespace fbsim
