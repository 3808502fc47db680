// SPDX-License-Identifier: MIT
// fbsim: umbrella header and version of the simulation core.
#pragma once

#include "fbsim/broadphase.hpp"
#include "fbsim/geometry.hpp"
#include "fbsim/narrowphase.hpp"
#include "fbsim/octree.hpp"
#include "fbsim/pathfinding.hpp"
#include "fbsim/status.hpp"
#include "fbsim/validate.hpp"
#include "fbsim/voxelize.hpp"

#define FBSIM_VERSION_MAJOR 0
#define FBSIM_VERSION_MINOR 1
#define FBSIM_VERSION_PATCH 0

namespace fbsim {

/// Version of the library that was linked, as `major * 10000 + minor * 100 + patch`.
/// Compare with the `FBSIM_VERSION_*` macros of the headers you compiled against to catch a
/// header/library mismatch at start-up (Jolt's VerifyJoltVersionID idea).
int version() noexcept;

/// True when the linked library matches the headers this translation unit was compiled with.
inline bool version_matches_headers() noexcept {
    return version() ==
           FBSIM_VERSION_MAJOR * 10000 + FBSIM_VERSION_MINOR * 100 + FBSIM_VERSION_PATCH;
}

}  // namespace fbsim
