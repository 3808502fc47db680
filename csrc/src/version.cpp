// SPDX-License-Identifier: MIT
// fbsim: version of the compiled library and the error-code strings.
#include "fbsim/fbsim.hpp"

namespace fbsim {

int version() noexcept {
    return FBSIM_VERSION_MAJOR * 10000 + FBSIM_VERSION_MINOR * 100 + FBSIM_VERSION_PATCH;
}

const char* error_message(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::kOk: return "is valid";
        case ErrorCode::kNotFinite: return "is not finite; values must be finite";
        case ErrorCode::kOutOfRange: return "exceeds the world limit";
        case ErrorCode::kNegative: return "is negative; sizes must be >= 0";
        case ErrorCode::kZeroQuaternion: return "is a zero quaternion; its norm must be > 1e-9";
        case ErrorCode::kNotRotation: return "is not a rotation matrix (orthonormal, det +1)";
        case ErrorCode::kEmpty: return "is empty; a hull needs at least one point";
    }
    return "is invalid";
}

}  // namespace fbsim
