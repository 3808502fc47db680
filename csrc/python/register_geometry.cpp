// SPDX-License-Identifier: MIT
// fbsim._core: geometry conversions. Each binding: check arrays (numpy_args) -> validate the
// domain -> allocate the output with the GIL -> release the GIL around one core call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "fbsim/geometry.hpp"
#include "fbsim/validate.hpp"
#include "numpy_args.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace fbsim::python {

using args::Rows;

namespace {

std::size_t count_of(const py::array& a) { return static_cast<std::size_t>(a.shape(0)); }

Rows checked_quats(py::handle obj, const char* name) {
    Rows q = args::rows(obj, name, 4, kMaxQuaternionComponent);
    args::raise_if(validate_quats(q.data(), count_of(q)), name, 4);
    return q;
}

Rows checked_sizes(py::handle obj, const char* name, py::ssize_t cols) {
    Rows s = cols ? args::rows(obj, name, cols) : args::vector(obj, name);
    args::raise_if(first_negative(s.data(), count_of(s), cols ? static_cast<std::size_t>(cols) : 1),
                   name, cols);
    return s;
}

Rows quat_to_matrix(py::handle quats) {
    Rows q = checked_quats(quats, "quats");
    Rows out({q.shape(0), py::ssize_t{3}, py::ssize_t{3}});
    {
        py::gil_scoped_release release;  // raw buffers only; q and out outlive the scope
        quat_to_matrix_batch(q.data(), count_of(q), out.mutable_data());
    }
    return out;
}

Rows matrix_to_quat(py::handle matrices) {
    Rows m = args::array(matrices, "matrices", {3, 3});
    args::raise_if(validate_rotation_matrices(m.data(), count_of(m)), "matrices", 0);
    Rows out({m.shape(0), py::ssize_t{4}});
    {
        py::gil_scoped_release release;
        matrix_to_quat_batch(m.data(), count_of(m), out.mutable_data());
    }
    return out;
}

Rows obb_to_aabb(py::handle centers, py::handle quats, py::handle half_extents) {
    Rows c = args::rows(centers, "centers", 3);
    Rows q = checked_quats(quats, "quats");
    Rows h = checked_sizes(half_extents, "half_extents", 3);
    args::same_length({{"centers", c.shape(0)}, {"quats", q.shape(0)}, {"half_extents", h.shape(0)}});
    Rows out({c.shape(0), py::ssize_t{6}});
    {
        py::gil_scoped_release release;
        obb_to_aabb_batch(c.data(), q.data(), h.data(), count_of(c), out.mutable_data());
    }
    return out;
}

Rows transform_points(py::handle points, py::handle translation, py::handle quat) {
    Rows p = args::rows(points, "points", 3);
    Rows out({p.shape(0), py::ssize_t{3}});
    // One transform for all points when translation is (3,) and quat (4,); else one per point.
    const bool single = py::array::ensure(translation) && py::array::ensure(translation).ndim() == 1;
    if (single) {
        Rows t = args::fixed(translation, "translation", 3);
        Rows q = args::fixed(quat, "quat", 4, kMaxQuaternionComponent);
        args::raise_if(validate_quats(q.data(), 1), "quat", 4);
        py::gil_scoped_release release;
        transform_points_batch(p.data(), count_of(p), t.data(), q.data(), out.mutable_data());
    } else {
        Rows t = args::rows(translation, "translation", 3);
        Rows q = checked_quats(quat, "quat");
        args::same_length({{"points", p.shape(0)}, {"translation", t.shape(0)}, {"quat", q.shape(0)}});
        py::gil_scoped_release release;
        transform_points_paired_batch(p.data(), count_of(p), t.data(), q.data(), out.mutable_data());
    }
    return out;
}

Rows sphere_to_aabb(py::handle centers, py::handle radii) {
    Rows c = args::rows(centers, "centers", 3);
    Rows r = checked_sizes(radii, "radii", 0);
    args::same_length({{"centers", c.shape(0)}, {"radii", r.shape(0)}});
    Rows out({c.shape(0), py::ssize_t{6}});
    {
        py::gil_scoped_release release;
        sphere_to_aabb_batch(c.data(), r.data(), count_of(c), out.mutable_data());
    }
    return out;
}

Rows capsule_to_aabb(py::handle p0, py::handle p1, py::handle radii) {
    Rows a = args::rows(p0, "p0", 3);
    Rows b = args::rows(p1, "p1", 3);
    Rows r = checked_sizes(radii, "radii", 0);
    args::same_length({{"p0", a.shape(0)}, {"p1", b.shape(0)}, {"radii", r.shape(0)}});
    Rows out({a.shape(0), py::ssize_t{6}});
    {
        py::gil_scoped_release release;
        capsule_to_aabb_batch(a.data(), b.data(), r.data(), count_of(a), out.mutable_data());
    }
    return out;
}

Rows hull_to_aabb(py::handle points, py::handle offsets) {
    Rows p = args::rows(points, "points", 3);
    args::Ids o = args::ids(offsets, "offsets");
    if (o.shape(0) < 1) throw py::value_error("offsets must have at least one entry (offsets[0] == 0)");
    const std::int64_t* off = o.data();
    const auto hulls = static_cast<std::size_t>(o.shape(0) - 1);
    if (off[0] != 0) throw py::value_error("offsets[0] must be 0");
    for (std::size_t h = 0; h < hulls; ++h) {
        if (off[h + 1] <= off[h]) {
            throw py::value_error("offsets[" + std::to_string(h + 1) +
                                  "]: hull " + std::to_string(h) +
                                  " is empty or offsets decrease; a hull needs at least one point");
        }
    }
    if (off[hulls] != p.shape(0)) {
        throw py::value_error("offsets[-1] = " + std::to_string(off[hulls]) + " but points has " +
                              std::to_string(p.shape(0)) + " rows");
    }
    Rows out({static_cast<py::ssize_t>(hulls), py::ssize_t{6}});
    {
        py::gil_scoped_release release;
        hull_to_aabb_batch(p.data(), off, hulls, out.mutable_data());
    }
    return out;
}

}  // namespace

void register_geometry(py::module_& m) {
    m.def("quat_to_matrix", &quat_to_matrix, py::arg("quats"),
          "Rotation matrices (n, 3, 3) of quaternions (n, 4) (x, y, z, w). See fbsim.geometry.");
    m.def("matrix_to_quat", &matrix_to_quat, py::arg("matrices"),
          "Canonical unit quaternions (n, 4) of rotation matrices (n, 3, 3).");
    m.def("obb_to_aabb", &obb_to_aabb, py::arg("centers"), py::arg("quats"), py::arg("half_extents"),
          "Tight AABBs (n, 6) of oriented boxes.");
    m.def("transform_points", &transform_points, py::arg("points"), py::arg("translation"),
          py::arg("quat"), "rotate(quat, points) + translation, one transform or one per point.");
    m.def("sphere_to_aabb", &sphere_to_aabb, py::arg("centers"), py::arg("radii"),
          "AABBs (n, 6) of spheres.");
    m.def("capsule_to_aabb", &capsule_to_aabb, py::arg("p0"), py::arg("p1"), py::arg("radii"),
          "AABBs (n, 6) of capsules.");
    m.def("hull_to_aabb", &hull_to_aabb, py::arg("points"), py::arg("offsets"),
          "AABBs (h, 6) of convex hulls stored CSR-style (points, offsets).");
}

}  // namespace fbsim::python
