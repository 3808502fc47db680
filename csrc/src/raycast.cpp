// SPDX-License-Identifier: MIT
// fbsim: ray casts against convex shapes. A ray is a point (a zero-radius sphere) swept along
// origin + t * unit(dir), so this is shapecast.cpp's conservative advancement on GJK distance
// (van den Bergen 2004, "Ray Casting against General Convex Objects" uses the same
// separating-plane step). One algorithm for every shape kind, exact at flat faces.
#include <cmath>

#include "fbsim/narrowphase.hpp"

namespace fbsim {

CastResult raycast(const Convex& target, Vec3 origin, Vec3 dir, double max_t,
                   const GjkSettings& settings) noexcept {
    const double len = length(dir);
    const Vec3 unit = (1.0 / len) * dir;
    const Convex point = make_convex(Sphere{origin, 0.0});
    CastResult r = shapecast(point, max_t * unit, target, settings);
    if (r.t == 0.0 && length(r.normal) == 0.0) r.normal = -unit;  // origin inside the target
    if (r.t < INFINITY) r.t *= max_t;
    return r;
}

}  // namespace fbsim
