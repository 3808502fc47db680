// SPDX-License-Identifier: MIT
// fbsim._core: grid pathfinding and voxelization. Each binding: convert and check the grid and
// the cells (naming the argument and the bad cell) -> allocate with the GIL -> release the
// GIL around one core call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include "fbsim/limits.hpp"
#include "fbsim/pathfinding.hpp"
#include "fbsim/validate.hpp"
#include "fbsim/voxelize.hpp"
#include "numpy_args.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace fbsim::python {

namespace {

using Ids = args::Ids;

/// A checked grid and the array that owns its memory (kept alive by this struct).
struct GridArg {
    py::array owner;
    GridView view;
};

std::string shape_text(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

std::string cell_text(const GridView& g, std::int64_t flat) {
    const std::int64_t plane = g.rows * g.cols;
    const std::int64_t z = flat / plane, r = (flat % plane) / g.cols, c = flat % g.cols;
    if (g.ndim == 3) return std::to_string(z) + ", " + std::to_string(r) + ", " + std::to_string(c);
    return std::to_string(r) + ", " + std::to_string(c);
}

GridArg grid_arg(py::handle obj) {
    if (obj.is_none()) throw py::type_error("grid must be an array, not None");
    py::array a = py::array::ensure(obj);
    if (!a) throw py::type_error("grid must be an array-like of bool or float costs");
    if (a.ndim() != 2 && a.ndim() != 3) {
        throw py::value_error("grid must be 2-D (rows, cols) or 3-D (z, rows, cols), got shape " +
                              shape_text(a));
    }
    GridArg out;
    GridView& v = out.view;
    v.ndim = static_cast<int>(a.ndim());
    v.depth = v.ndim == 3 ? a.shape(0) : 1;
    v.rows = a.shape(v.ndim - 2);
    v.cols = a.shape(v.ndim - 1);
    // Before any conversion: a broadcast view of 1e12 cells costs nothing until copied.
    if (!grid_within_limit(v.depth, v.rows, v.cols)) {
        throw py::value_error("grid has shape " + shape_text(a) + ", more cells than the limit " +
                              std::to_string(kMaxGridCells) + " (fbsim.MAX_GRID_CELLS)");
    }
    const char kind = a.dtype().kind();
    if (kind == 'b') {
        auto b = py::array_t<bool, py::array::c_style>::ensure(a);
        if (!b) throw py::type_error("grid could not be read as a bool array");
        out.owner = b;
        v.passable = reinterpret_cast<const std::uint8_t*>(b.data());
    } else if (kind == 'i' || kind == 'u' || kind == 'f') {
        args::Rows f = args::Rows::ensure(a);
        if (!f) {
            PyErr_Clear();
            f = args::Rows::ensure(a.attr("astype")("float64"));
        }
        Status s;
        {
            py::gil_scoped_release release;
            s = validate_grid_costs(f.data(), static_cast<std::size_t>(f.size()));
        }
        if (!s.ok()) {
            const std::string where = "grid[" + cell_text(v, static_cast<std::int64_t>(s.index)) + "]";
            if (std::isnan(s.value)) throw py::value_error(where + " is nan; costs must be >= 1 or inf (blocked)");
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.6g", s.value);
            throw py::value_error(where + " = " + buf + "; costs must be >= 1 or inf (blocked)");
        }
        out.owner = f;
        v.costs = f.data();
    } else {
        throw py::type_error("grid must be bool (passable) or real costs, got dtype " +
                             std::string(py::str(a.dtype())));
    }
    return out;
}

int connectivity_arg(const GridView& g, int connectivity) {
    if (!valid_connectivity(g.ndim, connectivity)) {
        throw py::value_error(std::string("connectivity must be ") +
                              (g.ndim == 2 ? "4 or 8 for a 2-D grid" : "6, 18 or 26 for a 3-D grid") +
                              ", got " + std::to_string(connectivity));
    }
    return connectivity;
}

/// (n, ndim) integer cells -> flat indices; checks bounds and, if `need_free`, passability.
std::vector<std::int64_t> cells_arg(const GridView& g, py::handle obj, const char* name,
                                    bool single, bool need_free) {
    if (obj.is_none()) throw py::type_error(std::string(name) + " must be an array of cells, not None");
    py::array a = py::array::ensure(obj);
    if (!a) throw py::type_error(std::string(name) + " must be integer cell coordinates");
    const char kind = a.dtype().kind();
    if (kind != 'i' && kind != 'u') {
        throw py::type_error(std::string(name) + " must be integer cell coordinates, got dtype " +
                             std::string(py::str(a.dtype())));
    }
    const std::string axes = g.ndim == 3 ? "(z, row, col)" : "(row, col)";
    if (!single && a.size() == 0) return {};
    const bool ok_shape = single ? (a.ndim() == 1 && a.shape(0) == g.ndim)
                                 : (a.ndim() == 2 && a.shape(1) == g.ndim);
    if (!ok_shape) {
        throw py::value_error(std::string(name) + " must have shape " +
                              (single ? "(" + std::to_string(g.ndim) + ",)"
                                      : "(n, " + std::to_string(g.ndim) + ")") +
                              " " + axes + " for a " + std::to_string(g.ndim) + "-D grid, got " +
                              shape_text(a));
    }
    auto c = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!c) throw py::type_error(std::string(name) + " could not be converted to int64");
    const std::int64_t* p = c.data();
    const std::size_t n = single ? 1 : static_cast<std::size_t>(a.shape(0));
    const std::int64_t dims[3] = {g.depth, g.rows, g.cols};
    const int off = g.ndim == 3 ? 0 : 1;
    std::vector<std::int64_t> flat(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::int64_t f = 0;
        std::string txt;
        bool inside = true;
        for (int k = 0; k < g.ndim; ++k) {
            const std::int64_t v = p[i * static_cast<std::size_t>(g.ndim) + static_cast<std::size_t>(k)];
            txt += (k ? ", " : "") + std::to_string(v);
            if (v < 0 || v >= dims[k + off]) inside = false;
            if (inside) f = f * dims[k + off] + v;  // only in-range values: no overflow
        }
        const std::string where = single ? std::string(name) : std::string(name) + "[" + std::to_string(i) + "]";
        if (!inside) {
            throw py::value_error(where + " = (" + txt + ") is outside the grid " +
                                  (g.ndim == 3 ? "(" + std::to_string(g.depth) + ", " : std::string("(")) +
                                  std::to_string(g.rows) + ", " + std::to_string(g.cols) + ")");
        }
        if (need_free && !g.free(f)) throw py::value_error(where + " = (" + txt + ") is a blocked cell");
        flat[i] = f;
    }
    return flat;
}

py::array_t<std::int64_t> cells_out(const GridView& g, const std::vector<std::int64_t>& flat) {
    py::array_t<std::int64_t> out({static_cast<py::ssize_t>(flat.size()), static_cast<py::ssize_t>(g.ndim)});
    std::int64_t* o = out.mutable_data();
    const std::int64_t plane = g.rows * g.cols;
    for (std::size_t i = 0; i < flat.size(); ++i) {
        const std::int64_t f = flat[i];
        if (g.ndim == 3) *o++ = f / plane;
        *o++ = (f % plane) / g.cols;
        *o++ = f % g.cols;
    }
    return out;
}

PathMethod method_arg(const GridView& g, const std::string& method) {
    if (method == "astar") return PathMethod::kAstar;
    if (method == "jps") {
        if (!jps_supported(g)) {
            throw py::value_error("method='jps' needs a 2-D uniform-cost grid (bool, or every "
                                  "finite cost equal to 1); use method='astar'");
        }
        return PathMethod::kJps;
    }
    throw py::value_error("method must be 'astar' or 'jps', got '" + method + "'");
}

py::tuple grid_path(py::handle grid, py::handle start, py::handle goal, int connectivity,
                    const std::string& method, std::int64_t max_expansions) {
    GridArg ga = grid_arg(grid);
    const GridView& g = ga.view;
    PathSettings settings;
    const PathMethod m = method_arg(g, method);  // before connectivity: names the real problem
    settings.connectivity = connectivity_arg(g, connectivity);
    settings.max_expansions = max_expansions < 0 ? 0 : max_expansions;
    if (m == PathMethod::kJps && connectivity != 8) {
        throw py::value_error("jps supports connectivity 8 only, got " + std::to_string(connectivity));
    }
    const std::int64_t s = cells_arg(g, start, "start", true, true)[0];
    const std::int64_t t = cells_arg(g, goal, "goal", true, true)[0];
    PathResult r;
    {
        py::gil_scoped_release release;
        if (m == PathMethod::kJps) grid_jps(g, s, t, settings, &r);
        else grid_astar(g, s, t, settings, &r);
    }
    return py::make_tuple(cells_out(g, r.cells), r.found ? r.cost : INFINITY, r.expansions);
}

py::tuple grid_paths_batch_py(py::handle grid, py::handle starts, py::handle goals,
                              int connectivity, const std::string& method, int workers,
                              std::int64_t max_expansions) {
    GridArg ga = grid_arg(grid);
    const GridView& g = ga.view;
    PathSettings settings;
    const PathMethod m = method_arg(g, method);  // before connectivity: names the real problem
    settings.connectivity = connectivity_arg(g, connectivity);
    settings.max_expansions = max_expansions < 0 ? 0 : max_expansions;
    if (m == PathMethod::kJps && connectivity != 8) {
        throw py::value_error("jps supports connectivity 8 only, got " + std::to_string(connectivity));
    }
    if (workers == 0 || workers < -1 || workers > 1024) {
        throw py::value_error("workers must be -1 (all cores) or 1..1024, got " + std::to_string(workers));
    }
    const auto s = cells_arg(g, starts, "starts", false, true);
    const auto t = cells_arg(g, goals, "goals", false, true);
    args::same_length({{"starts", static_cast<py::ssize_t>(s.size())},
                       {"goals", static_cast<py::ssize_t>(t.size())}});
    py::array_t<double> costs(static_cast<py::ssize_t>(s.size()));
    py::array_t<std::int64_t> exps(static_cast<py::ssize_t>(s.size()));
    {
        py::gil_scoped_release release;
        grid_paths_batch(g, s.data(), t.data(), s.size(), m, settings,
                         workers < 0 ? 0u : static_cast<unsigned>(workers), costs.mutable_data(),
                         exps.mutable_data());
    }
    return py::make_tuple(costs, exps);
}

py::array_t<double> flow_field_py(py::handle grid, py::handle goals, int connectivity) {
    GridArg ga = grid_arg(grid);
    const GridView& g = ga.view;
    connectivity_arg(g, connectivity);
    const auto t = cells_arg(g, goals, "goals", false, true);
    std::vector<py::ssize_t> shape;
    if (g.ndim == 3) shape.push_back(g.depth);
    shape.push_back(g.rows);
    shape.push_back(g.cols);
    py::array_t<double> out(shape);
    {
        py::gil_scoped_release release;
        flow_field(g, t.data(), t.size(), connectivity, out.mutable_data());
    }
    return out;
}

py::tuple smooth_path_py(py::handle grid, py::handle path) {
    GridArg ga = grid_arg(grid);
    const GridView& g = ga.view;
    const auto cells = cells_arg(g, path, "path", false, true);
    std::vector<std::int64_t> out;
    double length = 0.0;
    std::size_t bad = 0;
    {
        py::gil_scoped_release release;
        for (std::size_t i = 1; i < cells.size() && !bad; ++i)
            if (!line_of_sight(g, cells[i - 1], cells[i])) bad = i;
        if (!bad) length = smooth_path(g, cells.data(), cells.size(), &out);
    }
    if (bad) {
        throw py::value_error("path[" + std::to_string(bad) + "] = (" + cell_text(g, cells[bad]) +
                              ") is not visible from path[" + std::to_string(bad - 1) +
                              "]: consecutive cells must see each other (legal moves always do)");
    }
    return py::make_tuple(cells_out(g, out), length);
}

VoxelSpec voxel_spec(py::handle origin, double cell_size, const py::array& grid) {
    args::Rows o = args::fixed(origin, "origin", 3);
    if (!(cell_size > 0.0) || !(cell_size <= kMaxCoordinate)) {
        throw py::value_error("cell_size must be finite and > 0, got " + std::to_string(cell_size));
    }
    VoxelSpec spec;
    for (int k = 0; k < 3; ++k) spec.origin[k] = o.data()[k];
    spec.cell_size = cell_size;
    spec.layers = grid.shape(0);
    spec.rows = grid.shape(1);
    spec.cols = grid.shape(2);
    const Status s = validate_voxel_spec(spec);
    if (!s.ok()) throw py::value_error("voxel grid has more than 2^31 cells");
    return spec;
}

py::array_t<std::int64_t> voxel_add_boxes_py(py::array_t<std::int32_t> counts, py::handle origin,
                                              double cell_size, py::handle centers,
                                              py::handle quats, py::handle half_extents,
                                              int delta) {
    if (counts.ndim() != 3 || !(counts.flags() & py::array::c_style) || !counts.writeable()) {
        throw py::value_error("counts must be a writeable C-contiguous int32 (layers, rows, cols) array");
    }
    const VoxelSpec spec = voxel_spec(origin, cell_size, counts);
    args::Rows c = args::rows(centers, "centers", 3);
    args::Rows q = args::rows(quats, "quats", 4, kMaxQuaternionComponent);
    args::Rows h = args::rows(half_extents, "half_extents", 3);
    args::same_length({{"centers", c.shape(0)}, {"quats", q.shape(0)}, {"half_extents", h.shape(0)}});
    int failed = -1;
    const Status s = validate_obb_arrays(c.data(), q.data(), h.data(),
                                         static_cast<std::size_t>(c.shape(0)), &failed);
    if (!s.ok()) {
        const char* names[] = {"centers", "quats", "half_extents"};
        args::raise_if(s, names[failed], failed == 1 ? 4 : 3);
    }
    py::array_t<std::int64_t> range(6);
    {
        py::gil_scoped_release release;
        voxel_add_boxes(spec, c.data(), q.data(), h.data(), static_cast<std::size_t>(c.shape(0)),
                        delta, counts.mutable_data(), range.mutable_data());
    }
    return range;
}

void walkable_voxels_py(py::array_t<bool> solid, py::array_t<bool> out, double cell_size,
                        double agent_radius, double agent_height, double step_height, bool floor,
                        py::handle lo_obj, py::handle hi_obj) {
    if (solid.ndim() != 3 || !(solid.flags() & py::array::c_style) || out.ndim() != 3 ||
        !(out.flags() & py::array::c_style) || !out.writeable()) {
        throw py::value_error("solid and out must be C-contiguous bool (layers, rows, cols) arrays");
    }
    for (int d = 0; d < 3; ++d)
        if (solid.shape(d) != out.shape(d)) throw py::value_error("out must have the shape of solid");
    const double sizes[] = {cell_size, agent_radius, agent_height, step_height};
    const char* names[] = {"cell_size", "agent_radius", "agent_height", "step_height"};
    for (int k = 0; k < 4; ++k) {
        const bool positive = k == 0 || k == 2;
        if (!(sizes[k] <= kMaxCoordinate) || !(positive ? sizes[k] > 0.0 : sizes[k] >= 0.0)) {
            throw py::value_error(std::string(names[k]) + " must be finite, " +
                                  (positive ? "> 0" : ">= 0") + " and <= 1e6");
        }
    }
    if (agent_height / cell_size > 1e9 || agent_radius / cell_size > 1e9 ||
        step_height / cell_size > 1e9) {
        throw py::value_error("agent sizes are too large for cell_size (more than 1e9 cells)");
    }
    const AgentCells agent = agent_cells(cell_size, agent_radius, agent_height, step_height);
    std::int64_t lo[3] = {0, 0, 0}, hi[3] = {solid.shape(0), solid.shape(1), solid.shape(2)};
    if (!lo_obj.is_none()) {
        Ids l = args::ids(lo_obj, "lo");
        Ids u = args::ids(hi_obj, "hi");
        if (l.shape(0) != 3 || u.shape(0) != 3) throw py::value_error("lo and hi must have 3 entries");
        for (int d = 0; d < 3; ++d) {
            lo[d] = std::max<std::int64_t>(0, l.data()[d]);
            hi[d] = std::min<std::int64_t>(hi[d], u.data()[d]);
        }
    }
    py::gil_scoped_release release;
    walkable_voxels(reinterpret_cast<const std::uint8_t*>(solid.data()), solid.shape(0),
                    solid.shape(1), solid.shape(2), agent, floor, lo, hi,
                    reinterpret_cast<std::uint8_t*>(out.mutable_data()));
}

}  // namespace

void register_pathfinding(py::module_& m) {
    m.attr("MAX_GRID_CELLS") = kMaxGridCells;  // issue 10: documented size limit
    m.def("grid_path", &grid_path, py::arg("grid"), py::arg("start"), py::arg("goal"),
          py::arg("connectivity") = 8, py::arg("method") = "astar", py::arg("max_expansions") = 0,
          "One optimal grid path: (cells int64[L, ndim], cost, expansions). See fbsim.pathfinding.");
    m.def("grid_paths_batch", &grid_paths_batch_py, py::arg("grid"), py::arg("starts"),
          py::arg("goals"), py::arg("connectivity") = 8, py::arg("method") = "astar",
          py::arg("workers") = 1, py::arg("max_expansions") = 0,
          "Optimal costs of many queries: (costs float64[Q], expansions int64[Q]).");
    m.def("flow_field", &flow_field_py, py::arg("grid"), py::arg("goals"),
          py::arg("connectivity") = 8, "Cost-to-go to the nearest goal for every cell.");
    m.def("smooth_path", &smooth_path_py, py::arg("grid"), py::arg("path"),
          "Line-of-sight smoothing of a grid path: (waypoints int64[K, ndim], length).");
    m.def("voxel_add_boxes", &voxel_add_boxes_py, py::arg("counts"), py::arg("origin"),
          py::arg("cell_size"), py::arg("centers"), py::arg("quats"), py::arg("half_extents"),
          py::arg("delta"),
          "Adds delta to the overlap count of every cell each box overlaps; returns the touched "
          "cell range (lo i, j, k, hi i, j, k). Low level: see fbsim.pathfinding.VoxelWorld.");
    m.def("walkable_voxels", &walkable_voxels_py, py::arg("solid"), py::arg("out"),
          py::arg("cell_size"), py::arg("agent_radius"), py::arg("agent_height"),
          py::arg("step_height"), py::arg("floor") = true, py::arg("lo") = py::none(),
          py::arg("hi") = py::none(),
          "Writes the walkable map of solid into out (in the range [lo, hi) if given).");
}

}  // namespace fbsim::python
