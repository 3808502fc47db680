// SPDX-License-Identifier: MIT
// libFuzzer harness: narrow phase (SAT, GJK, EPA, ray and shape casts) on two arbitrary shape
// batches, exactly as the bindings call it: validate_shape_batch first, kernels only on valid
// input. Findings: any sanitizer report, a NaN output, a negative distance or depth, a
// non-unit normal, or a hit time outside its range.
#include <cmath>
#include <cstdint>
#include <vector>

#include "fbsim/narrowphase.hpp"
#include "fuzz_input.hpp"

namespace {

struct Batch {
    std::vector<double> centers, quats, half, p0, p1, radii, points;
    std::vector<std::int64_t> offsets;
    fbsim::ShapeBatch view;
};

void fill(fuzz::Input& in, std::vector<double>& v, std::size_t n) {
    v.resize(n);
    for (auto& x : v) x = in.value();
}

void make(fuzz::Input& in, std::size_t n, Batch& b) {
    b.view = {};
    b.view.count = n;
    switch (in.below(4)) {
        case 0:
            b.view.kind = fbsim::ShapeKind::kBox;
            fill(in, b.centers, 3 * n), fill(in, b.quats, 4 * n), fill(in, b.half, 3 * n);
            b.view.centers = b.centers.data(), b.view.quats = b.quats.data();
            b.view.half_extents = b.half.data();
            break;
        case 1:
            b.view.kind = fbsim::ShapeKind::kSphere;
            fill(in, b.centers, 3 * n), fill(in, b.radii, n);
            b.view.centers = b.centers.data(), b.view.radii = b.radii.data();
            break;
        case 2:
            b.view.kind = fbsim::ShapeKind::kCapsule;
            fill(in, b.p0, 3 * n), fill(in, b.p1, 3 * n), fill(in, b.radii, n);
            b.view.p0 = b.p0.data(), b.view.p1 = b.p1.data(), b.view.radii = b.radii.data();
            break;
        default: {
            b.view.kind = fbsim::ShapeKind::kHull;
            b.offsets.assign(1, 0);
            for (std::size_t i = 0; i < n; ++i) b.offsets.push_back(b.offsets.back() + 1 + in.below(9));
            fill(in, b.points, 3 * static_cast<std::size_t>(b.offsets.back()));
            b.view.points = b.points.data(), b.view.offsets = b.offsets.data();
        }
    }
}

void check_unit_or_zero(const double* n) {
    const double len = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    if (!(len == 0.0 || std::fabs(len - 1.0) < 1e-6)) {
        __builtin_printf("normal = (%.17g, %.17g, %.17g)\n", n[0], n[1], n[2]);
        fuzz::fail("normal neither unit nor zero");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const std::size_t na = 1 + in.below(3);
    const std::size_t nb = in.below(2) ? 1 : na;
    Batch a, b;
    make(in, na, a);
    make(in, nb, b);
    const char* field = nullptr;
    if (!fbsim::validate_shape_batch(a.view, &field).ok()) return 0;
    if (!fbsim::validate_shape_batch(b.view, &field).ok()) return 0;
    const std::size_t pairs = fbsim::pair_count(na, nb);
    if (pairs == SIZE_MAX) fuzz::fail("pair_count rejected compatible counts");
    fbsim::GjkSettings settings;
    settings.max_iterations = 1 + static_cast<int>(in.below(80));

    std::vector<std::uint8_t> ov(pairs);
    fbsim::overlap_batch(a.view, b.view, std::fabs(in.value()) < 1e6 ? 1e-3 : 0.0, settings, ov.data());

    std::vector<double> dist(pairs), pa(3 * pairs), pb(3 * pairs);
    fbsim::distance_batch(a.view, b.view, settings, dist.data(), pa.data(), pb.data());
    for (std::size_t i = 0; i < pairs; ++i)
        if (!(dist[i] >= 0.0)) fuzz::fail("distance NaN or negative");
    for (double v : pa) if (std::isnan(v)) fuzz::fail("closest point NaN");

    std::vector<double> depth(pairs), normal(3 * pairs);
    fbsim::penetration_batch(a.view, b.view, settings, depth.data(), normal.data());
    for (std::size_t i = 0; i < pairs; ++i) {
        if (!(depth[i] >= 0.0)) fuzz::fail("depth NaN or negative");
        check_unit_or_zero(&normal[3 * i]);
    }

    // Ray casts against batch a: directions validated non-zero as the binding does.
    std::vector<double> origins(3 * na), dirs(3 * na), max_t(na), t(na), rn(3 * na);
    for (std::size_t i = 0; i < na; ++i) {
        double len2 = 0.0;
        for (int k = 0; k < 3; ++k) {
            origins[3 * i + k] = std::fmod(in.value(), 1e5);
            dirs[3 * i + k] = std::fmod(in.value(), 1e3);
            if (!std::isfinite(origins[3 * i + k])) origins[3 * i + k] = 0.0;
            if (!std::isfinite(dirs[3 * i + k])) dirs[3 * i + k] = 1.0;
            len2 += dirs[3 * i + k] * dirs[3 * i + k];
        }
        if (len2 < 1e-18) dirs[3 * i] = 1.0;
        max_t[i] = static_cast<double>(in.below(200));
    }
    fbsim::raycast_batch(a.view, origins.data(), dirs.data(), max_t.data(), na, settings, t.data(),
                         rn.data());
    for (std::size_t i = 0; i < na; ++i) {
        if (std::isnan(t[i]) || t[i] < 0.0 || (std::isfinite(t[i]) && t[i] > max_t[i] + 1e-6))
            fuzz::fail("ray t outside [0, max_t] and not inf");
        check_unit_or_zero(&rn[3 * i]);
    }

    std::vector<double> disp(3), toi(pairs), sn(3 * pairs);
    for (auto& d : disp) {
        d = std::fmod(in.value(), 1e3);
        if (!std::isfinite(d)) d = 0.0;
    }
    fbsim::shapecast_batch(a.view, disp.data(), 1, b.view, settings, toi.data(), sn.data());
    for (std::size_t i = 0; i < pairs; ++i) {
        if (std::isnan(toi[i]) || toi[i] < 0.0 || (std::isfinite(toi[i]) && toi[i] > 1.0 + 1e-9))
            fuzz::fail("shapecast toi outside [0, 1] and not inf");
        check_unit_or_zero(&sn[3 * i]);
    }
    return 0;
}
