// SPDX-License-Identifier: MIT
// fbsim._core: narrow-phase queries. A shape batch crosses the boundary as a tuple
// (kind, arrays...): ("box", centers, quats, half_extents), ("sphere", centers, radii),
// ("capsule", p0, p1, radii) or ("hull", points, offsets); fbsim.collision builds these from
// fbsim.Boxes & co. Each binding: check arrays (numpy_args) -> validate -> allocate with the
// GIL -> release the GIL around one core batch call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "fbsim/narrowphase.hpp"
#include "fbsim/validate.hpp"
#include "numpy_args.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace fbsim::python {

using args::Rows;

namespace {

// Largest accepted ray length, studs: a ray may cross the whole +-kMaxCoordinate world.
constexpr double kMaxRayLength = 4.0 * kMaxCoordinate;

std::size_t count_of(const py::array& a) { return static_cast<std::size_t>(a.shape(0)); }

/// A validated shape batch and the arrays its view points into.
struct Shapes {
    ShapeBatch view;
    std::vector<py::object> keep;  // owners of the buffers `view` points into
};

Rows coords(py::handle obj, const std::string& name, Shapes& s) {
    Rows r = args::rows(obj, name.c_str(), 3);
    s.keep.push_back(r);
    return r;
}

Rows sizes(py::handle obj, const std::string& name, py::ssize_t cols, Shapes& s) {
    Rows r = cols ? args::rows(obj, name.c_str(), cols) : args::vector(obj, name.c_str());
    args::raise_if(first_negative(r.data(), count_of(r), cols ? static_cast<std::size_t>(cols) : 1),
                   name.c_str(), cols);
    s.keep.push_back(r);
    return r;
}

Shapes parse_shapes(py::handle spec, const std::string& name) {
    if (!py::isinstance<py::tuple>(spec) || py::len(spec) < 3 ||
        !py::isinstance<py::str>(py::reinterpret_borrow<py::tuple>(spec)[0])) {
        throw py::type_error(name + " must be a shape batch tuple (kind, arrays...); use "
                                    "fbsim.Boxes/Spheres/Capsules/Hulls with fbsim.overlap & co");
    }
    const auto t = py::reinterpret_borrow<py::tuple>(spec);
    const std::string kind = t[0].cast<std::string>();
    const auto need = [&](std::size_t n) {
        if (py::len(t) != n) {
            throw py::value_error(name + ": a '" + kind + "' batch has " + std::to_string(n - 1) +
                                  " arrays, got " + std::to_string(py::len(t) - 1));
        }
    };
    Shapes s;
    ShapeBatch& v = s.view;
    if (kind == "box") {
        need(4);
        Rows c = coords(t[1], name + ".centers", s);
        Rows q = args::rows(t[2], (name + ".quats").c_str(), 4, kMaxQuaternionComponent);
        args::raise_if(validate_quats(q.data(), count_of(q)), (name + ".quats").c_str(), 4);
        s.keep.push_back(q);
        Rows h = sizes(t[3], name + ".half_extents", 3, s);
        args::same_length({{(name + ".centers").c_str(), c.shape(0)},
                           {(name + ".quats").c_str(), q.shape(0)},
                           {(name + ".half_extents").c_str(), h.shape(0)}});
        v.kind = ShapeKind::kBox;
        v.count = count_of(c);
        v.centers = c.data();
        v.quats = q.data();
        v.half_extents = h.data();
    } else if (kind == "sphere") {
        need(3);
        Rows c = coords(t[1], name + ".centers", s);
        Rows r = sizes(t[2], name + ".radii", 0, s);
        args::same_length({{(name + ".centers").c_str(), c.shape(0)},
                           {(name + ".radii").c_str(), r.shape(0)}});
        v.kind = ShapeKind::kSphere;
        v.count = count_of(c);
        v.centers = c.data();
        v.radii = r.data();
    } else if (kind == "capsule") {
        need(4);
        Rows a = coords(t[1], name + ".p0", s);
        Rows b = coords(t[2], name + ".p1", s);
        Rows r = sizes(t[3], name + ".radii", 0, s);
        args::same_length({{(name + ".p0").c_str(), a.shape(0)},
                           {(name + ".p1").c_str(), b.shape(0)},
                           {(name + ".radii").c_str(), r.shape(0)}});
        v.kind = ShapeKind::kCapsule;
        v.count = count_of(a);
        v.p0 = a.data();
        v.p1 = b.data();
        v.radii = r.data();
    } else if (kind == "hull") {
        need(3);
        Rows p = coords(t[1], name + ".points", s);
        const std::string oname = name + ".offsets";
        args::Ids o = args::ids(t[2], oname.c_str());
        s.keep.push_back(o);
        if (o.shape(0) < 1) throw py::value_error(oname + " must have at least one entry");
        const std::int64_t* off = o.data();
        const auto hulls = static_cast<std::size_t>(o.shape(0) - 1);
        if (off[0] != 0) throw py::value_error(oname + "[0] must be 0");
        for (std::size_t h = 0; h < hulls; ++h) {
            if (off[h + 1] <= off[h]) {
                throw py::value_error(oname + "[" + std::to_string(h + 1) + "]: hull " +
                                      std::to_string(h) + " is empty or offsets decrease");
            }
        }
        if (off[hulls] != p.shape(0)) {
            throw py::value_error(oname + "[-1] = " + std::to_string(off[hulls]) + " but " + name +
                                  ".points has " + std::to_string(p.shape(0)) + " rows");
        }
        v.kind = ShapeKind::kHull;
        v.count = hulls;
        v.points = p.data();
        v.offsets = off;
    } else {
        throw py::value_error(name + ": unknown shape kind '" + kind +
                              "' (expected box, sphere, capsule or hull)");
    }
    return s;
}

std::size_t pairs(const Shapes& a, const char* an, const Shapes& b, const char* bn) {
    const std::size_t n = pair_count(a.view.count, b.view.count);
    if (n == SIZE_MAX) {
        throw py::value_error(std::string(bn) + " has " + std::to_string(b.view.count) +
                              " shapes but " + an + " has " + std::to_string(a.view.count) +
                              "; lengths must match, or one of them must be 1 (broadcast)");
    }
    return n;
}

GjkSettings settings_from(int max_iterations) {
    if (max_iterations < 1 || max_iterations > 10000) {
        throw py::value_error("max_iterations must be in [1, 10000], got " +
                              std::to_string(max_iterations));
    }
    GjkSettings s;
    s.max_iterations = max_iterations;
    return s;
}

py::array_t<bool> overlap(py::handle a, py::handle b, py::handle tol, int max_iterations) {
    const Shapes sa = parse_shapes(a, "a");
    const Shapes sb = parse_shapes(b, "b");
    const double t = args::scalar(tol, "tol", 0.0, kMaxCoordinate);
    const GjkSettings st = settings_from(max_iterations);
    const std::size_t n = pairs(sa, "a", sb, "b");
    py::array_t<bool> out(static_cast<py::ssize_t>(n));
    static_assert(sizeof(bool) == 1, "bool output is written as bytes");
    {
        py::gil_scoped_release release;
        overlap_batch(sa.view, sb.view, t, st, reinterpret_cast<std::uint8_t*>(out.mutable_data()));
    }
    return out;
}

std::tuple<Rows, Rows, Rows> distance(py::handle a, py::handle b, int max_iterations) {
    const Shapes sa = parse_shapes(a, "a");
    const Shapes sb = parse_shapes(b, "b");
    const GjkSettings st = settings_from(max_iterations);
    const auto n = static_cast<py::ssize_t>(pairs(sa, "a", sb, "b"));
    Rows d(n), pa({n, py::ssize_t{3}}), pb({n, py::ssize_t{3}});
    {
        py::gil_scoped_release release;
        distance_batch(sa.view, sb.view, st, d.mutable_data(), pa.mutable_data(),
                       pb.mutable_data());
    }
    return {d, pa, pb};
}

std::tuple<Rows, Rows> penetration(py::handle a, py::handle b, int max_iterations) {
    const Shapes sa = parse_shapes(a, "a");
    const Shapes sb = parse_shapes(b, "b");
    const GjkSettings st = settings_from(max_iterations);
    const auto n = static_cast<py::ssize_t>(pairs(sa, "a", sb, "b"));
    Rows depth(n), normal({n, py::ssize_t{3}});
    {
        py::gil_scoped_release release;
        penetration_batch(sa.view, sb.view, st, depth.mutable_data(), normal.mutable_data());
    }
    return {depth, normal};
}

std::tuple<Rows, Rows> raycast(py::handle shapes, py::handle origins, py::handle dirs,
                               py::handle max_t, int max_iterations) {
    const Shapes s = parse_shapes(shapes, "shapes");
    Rows o = args::rows(origins, "origins", 3);
    Rows d = args::rows(dirs, "dirs", 3);
    args::same_length({{"origins", o.shape(0)}, {"dirs", d.shape(0)}});
    const std::size_t n = count_of(o);
    for (std::size_t i = 0; i < n; ++i) {
        if (length(load_vec3(d.data(), i)) == 0.0) {
            throw py::value_error("dirs[" + std::to_string(i) + "] is zero; a ray needs a direction");
        }
    }
    // max_t: one value for every ray, or one per ray.
    Rows m = args::vector(py::array::ensure(max_t) && py::array::ensure(max_t).ndim() == 0
                              ? py::handle(py::array::ensure(max_t).attr("reshape")(1))
                              : max_t,
                          "max_t", kMaxRayLength);
    args::raise_if(first_negative(m.data(), count_of(m), 1), "max_t", 0);
    if (m.shape(0) == 1 && n != 1) {
        Rows full(static_cast<py::ssize_t>(n));
        for (std::size_t i = 0; i < n; ++i) full.mutable_data()[i] = m.data()[0];
        m = full;
    }
    args::same_length({{"origins", o.shape(0)}, {"max_t", m.shape(0)}});
    if (pair_count(s.view.count, n) != n) {
        throw py::value_error("shapes has " + std::to_string(s.view.count) + " shapes but origins has " +
                              std::to_string(n) + " rows; they must match, or shapes must have 1");
    }
    const GjkSettings st = settings_from(max_iterations);
    Rows t(static_cast<py::ssize_t>(n)), normal({static_cast<py::ssize_t>(n), py::ssize_t{3}});
    {
        py::gil_scoped_release release;
        raycast_batch(s.view, o.data(), d.data(), m.data(), n, st, t.mutable_data(),
                      normal.mutable_data());
    }
    return {t, normal};
}

std::tuple<Rows, Rows> shapecast(py::handle moving, py::handle displacement, py::handle targets,
                                 int max_iterations) {
    const Shapes sm = parse_shapes(moving, "moving");
    const Shapes st_ = parse_shapes(targets, "targets");
    Rows d = args::rows(displacement, "displacement", 3);
    const std::size_t n0 = pairs(sm, "moving", st_, "targets");
    const std::size_t n = pair_count(n0, count_of(d));
    if (n == SIZE_MAX) {
        throw py::value_error("displacement has " + std::to_string(d.shape(0)) + " rows but there are " +
                              std::to_string(n0) + " pairs; they must match, or one must be 1");
    }
    const GjkSettings st = settings_from(max_iterations);
    Rows toi(static_cast<py::ssize_t>(n)), normal({static_cast<py::ssize_t>(n), py::ssize_t{3}});
    {
        py::gil_scoped_release release;
        shapecast_batch(sm.view, d.data(), count_of(d), st_.view, st, toi.mutable_data(),
                        normal.mutable_data());
    }
    return {toi, normal};
}

}  // namespace

void register_narrowphase(py::module_& m) {
    m.def("overlap", &overlap, py::arg("a"), py::arg("b"), py::arg("tol") = 0.0,
          py::arg("max_iterations") = 64,
          "Pairwise overlap (depth > tol) of two shape-batch tuples. See fbsim.collision.");
    m.def("distance", &distance, py::arg("a"), py::arg("b"), py::arg("max_iterations") = 64,
          "Pairwise distance and closest points (dist, point_a, point_b).");
    m.def("penetration", &penetration, py::arg("a"), py::arg("b"), py::arg("max_iterations") = 64,
          "Pairwise penetration depth and unit normal from a to b.");
    m.def("raycast", &raycast, py::arg("shapes"), py::arg("origins"), py::arg("dirs"),
          py::arg("max_t"), py::arg("max_iterations") = 64,
          "First hit (t, normal) of rays origin + t * unit(dir), t <= max_t; t = inf on a miss.");
    m.def("shapecast", &shapecast, py::arg("moving"), py::arg("displacement"), py::arg("targets"),
          py::arg("max_iterations") = 64,
          "Time of impact in [0, 1] (inf on a miss) and normal of swept shapes.");
}

}  // namespace fbsim::python
