// SPDX-License-Identifier: MIT
// fbsim._core: Octree and Quadtree (fbsim::SpatialTree<3>/<2>). Each method: check arrays
// (numpy_args) -> validate the domain -> allocate with the GIL -> release the GIL around one
// core call. A shared_mutex per tree turns the core's "many readers or one writer" rule into
// a guarantee for Python threads: queries share it, updates take it exclusively.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fbsim/octree.hpp"
#include "fbsim/validate.hpp"
#include "numpy_args.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace fbsim::python {

using args::Ids;
using args::Rows;

namespace {

std::size_t count_of(const py::array& a) { return static_cast<std::size_t>(a.shape(0)); }

// Ray directions shorter than this have no usable direction (their square underflows).
constexpr double kMinDirectionNorm = 1e-9;

// A Python int (numpy integers too, not bool, not float).
long long int_arg(py::handle obj, const char* name) {
    if (obj.is_none() || py::isinstance<py::bool_>(obj) || !PyIndex_Check(obj.ptr())) {
        throw py::type_error(std::string(name) + " must be an int");
    }
    return py::int_(py::reinterpret_borrow<py::object>(obj)).cast<long long>();
}

// scipy's convention: workers >= 1 threads, or -1 for one per hardware thread.
int workers_arg(py::handle obj) {
    const long long w = int_arg(obj, "workers");
    if (w == -1) return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (w < 1 || w > 1024) throw py::value_error("workers must be in [1, 1024] or -1, got " + std::to_string(w));
    return static_cast<int>(w);
}

// A std::vector<int64> handed to numpy without a copy: the capsule owns it.
Ids to_numpy(std::vector<std::int64_t>&& v) {
    auto* owned = new std::vector<std::int64_t>(std::move(v));
    py::capsule cap(owned, [](void* p) { delete static_cast<std::vector<std::int64_t>*>(p); });
    return Ids({static_cast<py::ssize_t>(owned->size())}, {sizeof(std::int64_t)}, owned->data(), cap);
}

// A range query whose result passed the tree's cap (SpatialTree::max_results) returned
// nothing: name the call and the cap instead of failing in an allocation.
[[noreturn]] void raise_over_limit(const char* what, std::size_t limit) {
    throw py::value_error(std::string(what) + " result exceeds max_results = " +
                          std::to_string(limit) + " (default fbsim.MAX_QUERY_RESULTS = " +
                          std::to_string(kMaxQueryResults) +
                          "): split the query batch, or raise the tree's max_results");
}

template <int D>
struct PyTree {
    SpatialTree<D> tree;
    mutable std::shared_mutex mu;
    explicit PyTree(bool boxes) : tree(boxes) {}

    const char* items_name() const { return tree.boxes() ? "aabbs" : "points"; }
    py::ssize_t width() const { return static_cast<py::ssize_t>(tree.item_width()); }

    void raise_status(const TreeStatus& st, const char* items, const char* ids) const {
        if (st.ok()) return;
        switch (st.code) {
            case TreeError::kInvalidGeometry:
                args::raise_if(st.geometry, items, width());
                break;
            case TreeError::kInvertedBox:
                throw py::value_error(std::string(items) + "[" + std::to_string(st.index) +
                                      "] has hi < lo on axis " +
                                      std::to_string(st.geometry.component - D) +
                                      "; a box needs lo <= hi");
            case TreeError::kTooManyItems:
                throw py::value_error(std::string(items) + " would exceed the tree's item limit");
            default:
                break;
        }
        throw py::value_error(std::string(ids) + "[" + std::to_string(st.index) + "] = " +
                              std::to_string(st.id) + " " + tree_error_message(st.code));
    }

    Rows items_arg(py::handle obj) const { return args::rows(obj, items_name(), width()); }

    void build(py::handle items, py::handle ids) {
        Rows it = items_arg(items);
        Ids id;
        if (!ids.is_none()) {
            id = args::ids(ids, "ids");
            args::same_length({{items_name(), it.shape(0)}, {"ids", id.shape(0)}});
        }
        TreeStatus st;
        {
            py::gil_scoped_release release;
            std::unique_lock lock(mu);
            st = tree.build(it.data(), ids.is_none() ? nullptr : id.data(), count_of(it));
        }
        raise_status(st, items_name(), "ids");
    }

    void insert(py::handle ids, py::handle items) {
        Ids id = args::ids(ids, "ids");
        Rows it = items_arg(items);
        args::same_length({{"ids", id.shape(0)}, {items_name(), it.shape(0)}});
        TreeStatus st;
        {
            py::gil_scoped_release release;
            std::unique_lock lock(mu);
            st = tree.insert(id.data(), it.data(), count_of(id));
        }
        raise_status(st, items_name(), "ids");
    }

    void move(py::handle ids, py::handle items) {
        Ids id = args::ids(ids, "ids");
        Rows it = items_arg(items);
        args::same_length({{"ids", id.shape(0)}, {items_name(), it.shape(0)}});
        TreeStatus st;
        {
            py::gil_scoped_release release;
            std::unique_lock lock(mu);
            st = tree.move(id.data(), it.data(), count_of(id));
        }
        raise_status(st, items_name(), "ids");
    }

    void remove(py::handle ids) {
        Ids id = args::ids(ids, "ids");
        TreeStatus st;
        {
            py::gil_scoped_release release;
            std::unique_lock lock(mu);
            st = tree.remove(id.data(), count_of(id));
        }
        raise_status(st, items_name(), "ids");
    }

    Rows get(py::handle ids) const {
        Ids id = args::ids(ids, "ids");
        Rows out({id.shape(0), width()});
        TreeStatus st;
        {
            py::gil_scoped_release release;
            std::shared_lock lock(mu);
            st = tree.get(id.data(), count_of(id), out.mutable_data());
        }
        raise_status(st, items_name(), "ids");
        return out;
    }

    Ids ids() const {
        std::vector<std::int64_t> v;
        {
            py::gil_scoped_release release;
            std::shared_lock lock(mu);
            v = tree.ids();
        }
        return to_numpy(std::move(v));
    }

    std::size_t size() const {
        std::shared_lock lock(mu);
        return tree.size();
    }

    bool contains(py::handle id) const {
        if (py::isinstance<py::bool_>(id) || !PyIndex_Check(id.ptr())) return false;
        long long v;
        try {
            v = py::int_(py::reinterpret_borrow<py::object>(id)).cast<long long>();
        } catch (const py::cast_error&) {
            return false;  // outside int64: cannot be an id
        }
        std::shared_lock lock(mu);
        return tree.contains(v);
    }

    Rows queries_arg(py::handle q, const char* name) const { return args::rows(q, name, D); }

    // A radius-like argument: one value for every query, or one per query (stride 1).
    std::pair<Rows, std::size_t> per_query(py::handle obj, const char* name, std::size_t n,
                                           double hi) const {
        if (obj.is_none()) throw py::type_error(std::string(name) + " must be a number or an array, not None");
        py::array a = py::array::ensure(obj);
        if (a && a.ndim() == 0) {
            Rows one = Rows::ensure(py::array_t<double>(1));
            one.mutable_data()[0] = args::scalar(obj, name, 0.0, hi);
            return {one, 0};
        }
        Rows v = args::vector(obj, name, hi);
        args::raise_if(first_negative(v.data(), count_of(v), 1), name, 0);
        args::same_length({{"queries", static_cast<py::ssize_t>(n)}, {name, v.shape(0)}});
        return {v, 1};
    }

    py::tuple knn(py::handle queries, py::handle k_obj, py::handle workers_obj) const {
        Rows q = queries_arg(queries, "queries");
        const long long k = int_arg(k_obj, "k");
        const int workers = workers_arg(workers_obj);
        if (k <= 0) throw py::value_error("k must be >= 1, got " + std::to_string(k));
        const auto n = count_of(q);
        {
            // Check k before allocating the (n, k) outputs: k = 2**40 must be a ValueError,
            // not an 8 TiB MemoryError (issue 10). Re-checked under the lock below, as a
            // writer may remove items in between.
            std::shared_lock lock(mu);
            if (static_cast<unsigned long long>(k) > tree.size()) {
                throw py::value_error("k = " + std::to_string(k) +
                                      " exceeds the number of items (" +
                                      std::to_string(tree.size()) + ")");
            }
        }
        Rows dist({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
        Ids out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
        std::size_t size = 0;
        {
            py::gil_scoped_release release;
            std::shared_lock lock(mu);
            size = tree.size();
            if (static_cast<std::size_t>(k) <= size)
                tree.knn(q.data(), n, static_cast<std::size_t>(k), workers, dist.mutable_data(),
                         out.mutable_data());
        }
        if (static_cast<std::size_t>(k) > size) {
            throw py::value_error("k = " + std::to_string(k) + " exceeds the number of items (" +
                                  std::to_string(size) + ")");
        }
        return py::make_tuple(dist, out);
    }

    py::tuple radius(py::handle queries, py::handle r, py::handle workers_obj) const {
        Rows q = queries_arg(queries, "queries");
        auto [radii, stride] = per_query(r, "r", count_of(q), kMaxRayDistance);
        const int workers = workers_arg(workers_obj);
        std::vector<std::int64_t> offsets, ids;
        bool fits = false;
        std::size_t limit = 0;
        {
            py::gil_scoped_release release;
            std::shared_lock lock(mu);
            limit = tree.max_results();
            fits = tree.radius(q.data(), count_of(q), radii.data(), stride, workers, offsets, ids);
        }
        if (!fits) raise_over_limit("radius", limit);
        return py::make_tuple(to_numpy(std::move(offsets)), to_numpy(std::move(ids)));
    }

    Ids radius_count(py::handle queries, py::handle r, py::handle workers_obj) const {
        Rows q = queries_arg(queries, "queries");
        auto [radii, stride] = per_query(r, "r", count_of(q), kMaxRayDistance);
        const int workers = workers_arg(workers_obj);
        Ids out({static_cast<py::ssize_t>(count_of(q))});
        {
            py::gil_scoped_release release;
            std::shared_lock lock(mu);
            tree.radius_count(q.data(), count_of(q), radii.data(), stride, workers, out.mutable_data());
        }
        return out;
    }

    std::pair<Rows, Rows> lo_hi(py::handle lo, py::handle hi) const {
        Rows l = args::rows(lo, "lo", D);
        Rows h = args::rows(hi, "hi", D);
        args::same_length({{"lo", l.shape(0)}, {"hi", h.shape(0)}});
        for (std::size_t i = 0; i < count_of(l); ++i) {
            for (int a = 0; a < D; ++a) {
                if (h.data()[i * D + a] < l.data()[i * D + a]) {
                    throw py::value_error("hi[" + std::to_string(i) + ", " + std::to_string(a) +
                                          "] < lo[" + std::to_string(i) + ", " +
                                          std::to_string(a) + "]; a box needs lo <= hi");
                }
            }
        }
        return {l, h};
    }

    py::tuple query_aabb(py::handle lo, py::handle hi, py::handle workers_obj) const {
        auto [l, h] = lo_hi(lo, hi);
        const int workers = workers_arg(workers_obj);
        std::vector<std::int64_t> offsets, ids;
        bool fits = false;
        std::size_t limit = 0;
        {
            py::gil_scoped_release release;
            std::shared_lock lock(mu);
            limit = tree.max_results();
            fits = tree.query_aabb(l.data(), h.data(), count_of(l), workers, offsets, ids);
        }
        if (!fits) raise_over_limit("query_aabb", limit);
        return py::make_tuple(to_numpy(std::move(offsets)), to_numpy(std::move(ids)));
    }

    Ids query_aabb_count(py::handle lo, py::handle hi, py::handle workers_obj) const {
        auto [l, h] = lo_hi(lo, hi);
        const int workers = workers_arg(workers_obj);
        Ids out({static_cast<py::ssize_t>(count_of(l))});
        {
            py::gil_scoped_release release;
            std::shared_lock lock(mu);
            tree.query_aabb_count(l.data(), h.data(), count_of(l), workers, out.mutable_data());
        }
        return out;
    }

    py::tuple raycast(py::handle origins, py::handle directions, py::handle max_distance,
                      py::handle workers_obj) const {
        Rows o = args::rows(origins, "origins", D);
        Rows d = args::rows(directions, "directions", D);
        args::same_length({{"origins", o.shape(0)}, {"directions", d.shape(0)}});
        for (std::size_t i = 0; i < count_of(d); ++i) {
            double n2 = 0.0;
            for (int a = 0; a < D; ++a) n2 += d.data()[i * D + a] * d.data()[i * D + a];
            if (!(std::sqrt(n2) >= kMinDirectionNorm)) {
                throw py::value_error("directions[" + std::to_string(i) +
                                      "] has norm below 1e-9; a ray needs a direction");
            }
        }
        auto [tmax, stride] = per_query(max_distance, "max_distance", count_of(o), kMaxRayDistance);
        const int workers = workers_arg(workers_obj);
        Rows t({static_cast<py::ssize_t>(count_of(o))});
        Ids out({static_cast<py::ssize_t>(count_of(o))});
        {
            py::gil_scoped_release release;
            std::shared_lock lock(mu);
            tree.raycast(o.data(), d.data(), count_of(o), tmax.data(), stride, workers,
                         t.mutable_data(), out.mutable_data());
        }
        return py::make_tuple(t, out);
    }
};

template <int D>
void register_tree(py::module_& m, const char* name) {
    using T = PyTree<D>;
    py::class_<T>(m, name, "Loose spatial tree; see fbsim.spatial_tree for the documented API.")
        .def(py::init([](py::handle items, py::handle ids, bool boxes) {
                 auto t = std::make_unique<T>(boxes);
                 t->build(items, ids);
                 return t;
             }),
             py::arg("items"), py::arg("ids") = py::none(), py::arg("boxes") = false)
        .def("build", &T::build, py::arg("items"), py::arg("ids") = py::none())
        .def("insert", &T::insert, py::arg("ids"), py::arg("items"))
        .def("move", &T::move, py::arg("ids"), py::arg("items"))
        .def("remove", &T::remove, py::arg("ids"))
        .def("get", &T::get, py::arg("ids"))
        .def("ids", &T::ids)
        .def("__len__", &T::size)
        .def("__contains__", &T::contains, py::arg("id"))
        .def_property_readonly("boxes", [](const T& t) { return t.tree.boxes(); })
        .def_property(
            "max_results",
            [](const T& t) {
                std::shared_lock lock(t.mu);
                return t.tree.max_results();
            },
            [](T& t, py::handle limit) {
                // Any size in [0, 2^62], as the broad phases' max_results.
                const double v = args::scalar(limit, "max_results", 0.0, 4.6e18);
                if (v != std::floor(v)) throw py::value_error("max_results must be an integer");
                py::gil_scoped_release release;
                std::unique_lock lock(t.mu);
                t.tree.set_max_results(static_cast<std::size_t>(v));
            })
        .def("node_count",
             [](const T& t) {
                 std::shared_lock lock(t.mu);
                 return t.tree.node_count();
             })
        .def("check_invariants",
             [](const T& t) {
                 std::shared_lock lock(t.mu);
                 return t.tree.check_invariants();
             })
        .def("knn", &T::knn, py::arg("queries"), py::arg("k"), py::arg("workers") = 1)
        .def("radius", &T::radius, py::arg("queries"), py::arg("r"), py::arg("workers") = 1)
        .def("radius_count", &T::radius_count, py::arg("queries"), py::arg("r"),
             py::arg("workers") = 1)
        .def("query_aabb", &T::query_aabb, py::arg("lo"), py::arg("hi"), py::arg("workers") = 1)
        .def("query_aabb_count", &T::query_aabb_count, py::arg("lo"), py::arg("hi"),
             py::arg("workers") = 1)
        .def("raycast", &T::raycast, py::arg("origins"), py::arg("directions"),
             py::arg("max_distance") = kMaxRayDistance, py::arg("workers") = 1);
}

}  // namespace

void register_octree(py::module_& m) {
    m.attr("MAX_RAY_DISTANCE") = kMaxRayDistance;
    register_tree<3>(m, "Octree");
    register_tree<2>(m, "Quadtree");
}

}  // namespace fbsim::python
