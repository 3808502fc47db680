// SPDX-License-Identifier: MIT
// fbsim: narrow-phase collision between convex shapes: boolean overlap, separation distance
// with closest points, penetration depth with contact normal, ray casts and swept shape casts.
//
// Algorithms (one file each): sat.cpp (box-box separating axes, Ericson 4.4.1), gjk.cpp (GJK
// distance, van den Bergen 1999 / Ericson 9.5), epa.cpp (penetration depth), shapecast.cpp
// (conservative advancement on GJK distance; raycast.cpp casts a point the same way).
//
// Every shape is handled as a convex *core* (point, segment, box or point hull) swept by a
// radius (0 for boxes and hulls): a sphere is a point core, a capsule a segment core. GJK runs
// on the cores, and radii are applied afterwards, which keeps round shapes exact.
//
// Contact semantics, shared by every function here:
//  * `overlap` with tolerance `tol` (studs, >= 0) is true iff the penetration depth is > tol:
//    shapes that touch (depth 0), or interpenetrate by at most `tol`, do not overlap. Placing a
//    box flush on another is legal.
//  * distance is 0 for overlapping pairs; depth is 0 for separated pairs.
//  * normals point from shape a towards shape b (penetration) or from the target towards the
//    moving shape / ray origin (casts), and are unit length, or zero where undefined.
// Coordinates may reach +-1e5 (kMaxCoordinate bounds inputs): every pair query works in a frame
// centred on shape a, so absolute position costs no precision.
//
// Thread-safety: all functions are pure (no global state, no allocation); call them from any
// number of threads on disjoint outputs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fbsim/geometry.hpp"
#include "fbsim/status.hpp"

namespace fbsim {

/// Which kind of shape a batch or a single convex holds.
enum class ShapeKind : std::uint8_t {
    kBox = 0,      ///< oriented box: centers, quats, half_extents
    kSphere = 1,   ///< centers, radii
    kCapsule = 2,  ///< p0, p1, radii
    kHull = 3,     ///< CSR points + offsets
};

/// A batch of `count` shapes of one kind, as a view of caller-owned row-major arrays. Only the
/// arrays its kind uses need be set. Box: centers (count x 3), quats (count x 4, any non-zero
/// norm), half_extents (count x 3, >= 0). Sphere: centers, radii (count, >= 0). Capsule: p0,
/// p1 (count x 3), radii. Hull: points (offsets[count] x 3), offsets (count + 1, offsets[0] ==
/// 0, strictly increasing). Check with validate_shape_batch before any batch query.
struct ShapeBatch {
    ShapeKind kind = ShapeKind::kBox;       ///< what the arrays describe
    std::size_t count = 0;                  ///< number of shapes
    const double* centers = nullptr;        ///< box, sphere: count x 3, studs
    const double* quats = nullptr;          ///< box: count x 4, (x, y, z, w)
    const double* half_extents = nullptr;   ///< box: count x 3, studs
    const double* p0 = nullptr;             ///< capsule: count x 3, studs
    const double* p1 = nullptr;             ///< capsule: count x 3, studs
    const double* radii = nullptr;          ///< sphere, capsule: count, studs
    const double* points = nullptr;         ///< hull: offsets[count] x 3, studs
    const std::int64_t* offsets = nullptr;  ///< hull: count + 1 row offsets into points
};

/// One convex shape: a core (point, segment, box or point hull) swept by `radius`.
/// Build with the make_convex overloads. A hull convex points into caller-owned memory.
struct Convex {
    ShapeKind kind = ShapeKind::kSphere;  ///< determines which fields are used
    Vec3 center;                          ///< box or sphere centre; capsule p0; hull: first point
    Vec3 p1;                              ///< capsule: second segment end
    Mat3 rotation;                        ///< box: local-to-world rotation (normalised)
    Vec3 half_extents;                    ///< box half sizes, studs
    double radius = 0.0;                  ///< sphere / capsule radius, studs; 0 otherwise
    const double* points = nullptr;       ///< hull points, `count` x 3
    std::size_t count = 0;                ///< hull point count, >= 1
    Vec3 offset;                          ///< hull: translation added to every point (casts)
};

/// `c` translated by `d` studs (hulls through `offset`, so the points are not copied). O(1).
Convex translated(const Convex& c, Vec3 d) noexcept;

/// Convex of an oriented box. O(1).
Convex make_convex(const Obb& box) noexcept;
/// Convex of a sphere. O(1).
Convex make_convex(const Sphere& sphere) noexcept;
/// Convex of a capsule. O(1).
Convex make_convex(const Capsule& capsule) noexcept;
/// Convex of a hull (a view: the points must outlive the convex). Precondition: count >= 1.
Convex make_convex(const ConvexHull& hull) noexcept;
/// Convex of item `i` of a validated batch. O(1).
Convex convex_at(const ShapeBatch& batch, std::size_t i) noexcept;

/// GJK controls. The defaults give distances exact to ~1e-12 relative for every shape here.
struct GjkSettings {
    int max_iterations = 64;   ///< hard cap on support-point iterations (polytope cores need few)
    double tolerance = 1e-12;  ///< stop when the distance bound gap is below this, relative
};

/// Separation of two shapes.
struct DistanceResult {
    double distance = 0.0;  ///< >= 0, studs; 0 when the shapes overlap or touch
    Vec3 point_a;           ///< closest point on a (world); a common point if overlapping
    Vec3 point_b;           ///< closest point on b (world); equals point_a if overlapping
    int iterations = 0;     ///< GJK iterations used
    bool converged = true;  ///< false if max_iterations ran out (result is an upper bound)
};

/// Interpenetration of two shapes.
struct PenetrationResult {
    double depth = 0.0;     ///< >= 0, studs: shortest translation of b along `normal` to separate
    Vec3 normal;            ///< unit, from a towards b; zero when depth == 0 and undefined
    int iterations = 0;     ///< GJK + EPA iterations used
    bool converged = true;  ///< false if an iteration cap ran out
};

/// First hit of a cast (ray or swept shape).
struct CastResult {
    double t = 0.0;         ///< ray: distance along the unit direction; shape cast: fraction in [0, 1]; inf on a miss
    Vec3 normal;            ///< unit surface normal of the target at the hit, facing the caster
    int iterations = 0;     ///< conservative-advancement iterations used
    bool converged = true;  ///< false if the iteration cap ran out (reported as a miss)
};

// ---- single pairs --------------------------------------------------------------------------

/// True iff boxes a and b interpenetrate by more than `tol` (studs, >= 0) along every one of
/// the 15 separating axes (Ericson 4.4.1). Exact at touching: face-to-face contact is not
/// overlap. O(1), no allocation.
bool sat_obb_overlap(const Obb& a, const Obb& b, double tol) noexcept;

/// Penetration depth of two boxes: the smallest overlap over the 15 axes, which is exact for
/// boxes (the faces of their Minkowski difference are normal to those axes). O(1).
PenetrationResult sat_obb_penetration(const Obb& a, const Obb& b) noexcept;

/// Distance and closest points between two convex shapes by GJK on their cores.
/// O(iterations * support cost); support cost is O(points) for hulls, O(1) otherwise.
DistanceResult gjk_distance(const Convex& a, const Convex& b,
                            const GjkSettings& settings = {}) noexcept;

/// Penetration depth and normal of two convex shapes: from GJK when only the radii overlap,
/// else EPA on the cores; box-box pairs should use sat_obb_penetration (exact and faster).
PenetrationResult epa_penetration(const Convex& a, const Convex& b,
                                  const GjkSettings& settings = {}) noexcept;

/// Overlap test with tolerance for any two convex shapes (SAT for box-box, GJK/EPA otherwise).
bool convex_overlap(const Convex& a, const Convex& b, double tol,
                    const GjkSettings& settings = {}) noexcept;

/// First time t in [0, 1] at which `moving` translated by t * displacement touches `target`,
/// by conservative advancement on GJK distance (Mirtich 1996; the separating-plane step).
/// t = 0 with a zero normal if they already overlap; t = inf on a miss. O(iterations * GJK).
CastResult shapecast(const Convex& moving, Vec3 displacement, const Convex& target,
                     const GjkSettings& settings = {}) noexcept;

/// First hit of the ray origin + t * unit(dir), 0 <= t <= max_t, with `target`. An origin
/// inside the target hits at t = 0 with normal -unit(dir). Precondition: dir != 0.
CastResult raycast(const Convex& target, Vec3 origin, Vec3 dir, double max_t,
                   const GjkSettings& settings = {}) noexcept;

// ---- batches -------------------------------------------------------------------------------
// Pair i is a[i] with b[i]. A batch of count 1 is broadcast against the other (one new item
// against K candidates): the number of pairs is max(a.count, b.count), and each count must be
// that number or 1 (0 pairs if either is 0). Outputs have one row per pair. Preconditions:
// validate_shape_batch ok for each batch. No allocation; pure, safe from many threads.

/// Number of pairs of a batch query, or SIZE_MAX when the counts are incompatible.
std::size_t pair_count(std::size_t count_a, std::size_t count_b) noexcept;

/// out_overlap[i] = 1 iff pair i interpenetrates by more than `tol` studs, else 0.
void overlap_batch(const ShapeBatch& a, const ShapeBatch& b, double tol,
                   const GjkSettings& settings, std::uint8_t* out_overlap) noexcept;

/// Distances (pairs) and closest points (pairs x 3 each).
void distance_batch(const ShapeBatch& a, const ShapeBatch& b, const GjkSettings& settings,
                    double* out_distance, double* out_point_a, double* out_point_b) noexcept;

/// Penetration depths (pairs) and unit normals from a to b (pairs x 3; zero when separated).
void penetration_batch(const ShapeBatch& a, const ShapeBatch& b, const GjkSettings& settings,
                       double* out_depth, double* out_normal) noexcept;

/// Ray casts: rays i = origins[i] + t * unit(dirs[i]), t <= max_t[i], against shapes[i]
/// (shapes broadcast when shapes.count == 1). out_t = inf on a miss, out_normal zero then.
/// Preconditions: every dirs row non-zero, max_t >= 0.
void raycast_batch(const ShapeBatch& shapes, const double* origins, const double* dirs,
                   const double* max_t, std::size_t count, const GjkSettings& settings,
                   double* out_t, double* out_normal) noexcept;

/// Shape casts: moving[i] swept along displacement[i] against targets[i]; moving, targets and
/// displacement (rows; `displacement_count` is pairs or 1) broadcast as above.
void shapecast_batch(const ShapeBatch& moving, const double* displacement,
                     std::size_t displacement_count, const ShapeBatch& targets,
                     const GjkSettings& settings, double* out_toi, double* out_normal) noexcept;

/// Checks a batch from outside: finite values within kMaxCoordinate, sizes >= 0, non-zero
/// quaternions, hull offsets starting at 0 and strictly increasing. `out_failed_field` names
/// the failing array ("centers", "offsets", ...; nullptr when ok). Does not check that the
/// pointers are large enough; O(total values), no allocation, thread-safe.
Status validate_shape_batch(const ShapeBatch& batch, const char** out_failed_field) noexcept;

}  // namespace fbsim
