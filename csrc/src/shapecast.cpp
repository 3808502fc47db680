// SPDX-License-Identifier: MIT
// fbsim: time of impact of a convex shape translating along a segment against another.
// Conservative advancement (Mirtich, "Impulse-based Dynamic Simulation", 1996) with the
// separating-plane step used by van den Bergen's GJK ray cast (2004): GJK gives the closest
// points and their normal n; the mover cannot reach the target before it has crossed the gap
// along n, so t += gap / (displacement . n) never steps past the first contact. On flat target
// faces one step lands exactly; on round ones convergence is quadratic. Deviation: we stop at a
// gap of half a scale-relative slop (not at zero) so rounding can never step through a face.
#include <algorithm>
#include <cmath>

#include "detail/gjk_internal.hpp"
#include "fbsim/narrowphase.hpp"

namespace fbsim {

namespace {
// Advancement steps; flat targets need 1-2, round ones a handful. Out of steps = a miss.
constexpr int kMaxCastIterations = 64;
// Relative separation at which hit normals are measured when the cores nearly touch: large
// enough that the direction has ~1e-10 relative error, small enough to stay on the hit feature.
constexpr double kNormalBackoff = 1e-6;

// v / |v|, or unit(fallback) when v is zero (or fallback itself when that is zero too).
Vec3 unit_or(Vec3 v, Vec3 fallback) noexcept {
    double len = length(v);
    if (!(len > 0.0)) {
        v = fallback;
        len = length(v);
        if (!(len > 0.0)) return v;
    }
    return (1.0 / len) * v;
}
}  // namespace

CastResult shapecast(const Convex& moving, Vec3 displacement, const Convex& target,
                     const GjkSettings& settings) noexcept {
    CastResult r;
    r.t = INFINITY;
    const Vec3 shift = detail::anchor(target);
    const double rsum = moving.radius + target.radius;
    const double scale = detail::pair_scale(moving, target, shift) + length(displacement);
    const double slop = 1e-11 * scale;
    double t = 0.0;
    Vec3 last_normal{};  // from target towards mover
    double last_closing = 1.0;
    r.converged = false;
    for (int it = 0; it < kMaxCastIterations; ++it) {
        r.iterations = it + 1;
        const Convex m = translated(moving, t * displacement);
        const detail::CoreDistance c = detail::gjk_core(m, target, shift, settings);
        if (c.intersecting) {
            // Cores meet: only possible at t == 0 (we never step past contact) or through
            // rounding at the final step, where the previous normal is the contact normal.
            r.t = t;
            r.normal = last_normal;
            r.converged = true;
            return r;
        }
        // Normalise the point difference itself rather than dividing by c.distance: when the
        // cores are ~1e-12 apart the two are rounded differently and the quotient was not a
        // unit vector (length 1.0003 found by fuzz_narrowphase; issue 10).
        const Vec3 n = unit_or(c.point_a - c.point_b, -displacement);  // target -> mover
        last_normal = n;
        const double gap = c.distance - rsum;
        if (gap <= slop) {
            // Finish with the exact linear step to contact (no slop margin): on flat features
            // it is exact, on round ones second-order small at this gap.
            const double closing_now = -dot(displacement, n);
            r.t = closing_now > 0.0 && gap > 0.0 ? std::min(1.0, t + gap / closing_now) : t;
            r.normal = gap < -slop && it == 0 ? Vec3{} : n;  // overlapping from the start
            if (it > 0 && c.distance < kNormalBackoff * scale) {
                // The cores nearly touch (rays, boxes): a direction between points ~slop apart
                // is mostly rounding. Take it from a pose backed off by kNormalBackoff instead.
                const double tb = std::max(0.0, t - kNormalBackoff * scale / last_closing);
                const detail::CoreDistance cb =
                    detail::gjk_core(translated(moving, tb * displacement), target, shift, settings);
                if (!cb.intersecting && cb.distance > 0.0) {
                    r.normal = unit_or(cb.point_a - cb.point_b, r.normal);
                }
            }
            r.converged = true;
            return r;
        }
        const double closing = -dot(displacement, n);
        last_closing = closing;
        if (closing <= 0.0) {
            r.converged = true;  // moving away from (or along) the separating plane: a miss
            return r;
        }
        t += (gap - 0.5 * slop) / closing;
        if (t > 1.0) {
            r.converged = true;
            return r;
        }
    }
    return r;  // iteration cap: reported as a miss with converged = false
}

}  // namespace fbsim
