// SPDX-License-Identifier: MIT
// fbsim._core: broad-phase structures (fbsim/broadphase.hpp) as py::class_ objects. Each method:
// check arrays (numpy_args) -> release the GIL -> take the structure's lock (shared for
// queries, exclusive for insert/update/remove) -> one core call -> wrap the result vectors as
// numpy arrays without copying. The lock makes concurrent Python threads safe: readers run in
// parallel, a writer waits for them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "fbsim/broadphase.hpp"
#include "fbsim/validate.hpp"
#include "numpy_args.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace fbsim::python {

using args::Ids;
using args::Rows;

namespace {

/// A structure plus the reader/writer lock the bindings take around every call.
template <class T>
struct Locked {
    template <class... A>
    explicit Locked(A... a) : core(a...) {}
    T core;
    mutable std::shared_mutex mu;
};

/// Largest accepted max_t: longer than any segment inside the world (2 * sqrt(3) * 1e6).
constexpr double kMaxRayLength = 4e6;

std::size_t rows_of(const py::array& a) { return static_cast<std::size_t>(a.shape(0)); }

// Moves a vector into a numpy array that owns it (no copy).
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
    auto* heap = new std::vector<T>(std::move(v));
    py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(shape, heap->data(), owner);
}

py::array_t<std::int64_t> pair_array(std::vector<std::int64_t>&& flat) {
    const auto m = static_cast<py::ssize_t>(flat.size() / 2);
    return to_numpy(std::move(flat), {m, 2});
}

// A query whose result passed the structure's cap (Broadphase::max_results) returned nothing:
// say which call, which cap, and what to do instead of failing in an allocation.
[[noreturn]] void raise_over_limit(const char* what, std::size_t limit) {
    throw py::value_error(std::string(what) + " result exceeds max_results = " +
                          std::to_string(limit) + " (default fbsim.MAX_QUERY_RESULTS = " +
                          std::to_string(kMaxQueryResults) +
                          "): split the query batch, or raise the structure's max_results");
}

py::tuple csr_tuple(CsrResult&& r, const char* what, std::size_t limit) {
    if (r.over_limit) raise_over_limit(what, limit);
    const auto q = static_cast<py::ssize_t>(r.offsets.size());
    const auto n = static_cast<py::ssize_t>(r.ids.size());
    return py::make_tuple(to_numpy(std::move(r.offsets), {q}), to_numpy(std::move(r.ids), {n}));
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

void raise_status(const BroadphaseStatus& s, bool inserting) {
    if (s.ok()) return;
    const std::string row = std::to_string(s.index);
    const std::string where = "[" + row + ", " + std::to_string(s.component) + "]";
    const char* arr = s.array == 0 ? "lo" : "hi";
    switch (s.code) {
        case BroadphaseError::kNotFinite:
        case BroadphaseError::kOutOfRange:
            throw py::value_error(std::string(arr) + where + " = " + num(s.value) + " " +
                                  broadphase_error_message(s.code));
        case BroadphaseError::kInverted:
            throw py::value_error("lo" + where + " = " + num(s.value) + " is greater than hi" + where +
                                  "; boxes need lo <= hi");
        case BroadphaseError::kDuplicateId:
            throw py::value_error("ids[" + row + "] = " + std::to_string(s.id) +
                                  (inserting ? " is a duplicate: already present or repeated in the batch"
                                             : " is repeated in the batch"));
        case BroadphaseError::kUnknownId:
            throw py::value_error("ids[" + row + "] = " + std::to_string(s.id) + " is not present");
        case BroadphaseError::kReservedId:
            throw py::value_error("ids[" + row + "] = " + std::to_string(s.id) +
                                  " is reserved (INT64_MIN); use any other int64 id");
        case BroadphaseError::kTooManyItems:
            throw py::value_error("ids[" + row + "] = " + std::to_string(s.id) +
                                  ": insert would exceed the structure's max_items = " +
                                  std::to_string(static_cast<unsigned long long>(s.value)) +
                                  " (fbsim.MAX_BROADPHASE_ITEMS = 2^32 - 2 at most)");
        case BroadphaseError::kOk: break;
    }
}

// (n, 3) lo and hi of equal length.
std::pair<Rows, Rows> boxes(py::handle lo, py::handle hi) {
    Rows l = args::rows(lo, "lo", 3);
    Rows h = args::rows(hi, "hi", 3);
    args::same_length({{"lo", l.shape(0)}, {"hi", h.shape(0)}});
    return {l, h};
}

// Per-row uint32 layer bits, or an empty vector for "default".
std::vector<std::uint32_t> layer_bits(py::handle obj, const char* name, py::ssize_t n) {
    std::vector<std::uint32_t> out;
    if (obj.is_none()) return out;
    Ids v = args::ids(obj, name);
    args::same_length({{"ids", n}, {name, v.shape(0)}});
    out.resize(rows_of(v));
    for (std::size_t i = 0; i < out.size(); ++i) {
        const std::int64_t b = v.data()[i];
        if (b < 0 || b > 0xFFFFFFFFLL) {
            throw py::value_error(std::string(name) + "[" + std::to_string(i) + "] = " +
                                  std::to_string(b) + " is not a 32-bit layer mask (0 .. 2**32 - 1)");
        }
        out[i] = static_cast<std::uint32_t>(b);
    }
    return out;
}

std::uint32_t query_mask(py::handle obj) {
    if (obj.is_none()) return kAllLayers;
    if (!py::isinstance<py::int_>(obj) || py::isinstance<py::bool_>(obj))
        throw py::type_error("mask must be an int (32-bit layer mask) or None");
    const long long v = obj.cast<long long>();
    if (v < 0 || v > 0xFFFFFFFFLL) throw py::value_error("mask must be in 0 .. 2**32 - 1");
    return static_cast<std::uint32_t>(v);
}

Rows ray_lengths(py::handle max_t, py::ssize_t n) {
    Rows t = args::vector(max_t, "max_t", kMaxRayLength);
    args::same_length({{"origins", n}, {"max_t", t.shape(0)}});
    args::raise_if(first_negative(t.data(), rows_of(t), 1), "max_t", 0);
    return t;
}

Rows ray_dirs(py::handle dirs, py::ssize_t n) {
    Rows d = args::rows(dirs, "dirs", 3);
    args::same_length({{"origins", n}, {"dirs", d.shape(0)}});
    const double* p = d.data();
    for (std::size_t i = 0; i < rows_of(d); ++i) {
        const double n2 = p[3 * i] * p[3 * i] + p[3 * i + 1] * p[3 * i + 1] + p[3 * i + 2] * p[3 * i + 2];
        if (!(n2 >= 1e-18)) {
            throw py::value_error("dirs[" + std::to_string(i) +
                                  "] has length " + num(std::sqrt(n2)) + "; directions must be non-zero (>= 1e-9)");
        }
    }
    return d;
}

const Broadphase* as_broadphase(py::handle other, const std::shared_mutex** mu);

template <class T>
void bind_structure(py::module_& m, const char* name, const char* doc, py::class_<Locked<T>>& cls) {
    using L = Locked<T>;
    (void)m;
    (void)name;
    cls.doc() = doc;
    cls.def(
           "insert",
           [](L& self, py::handle ids, py::handle lo, py::handle hi, py::handle layers, py::handle masks) {
               Ids i = args::ids(ids, "ids");
               auto [l, h] = boxes(lo, hi);
               args::same_length({{"ids", i.shape(0)}, {"lo", l.shape(0)}});
               const auto lay = layer_bits(layers, "layers", i.shape(0));
               const auto msk = layer_bits(masks, "masks", i.shape(0));
               BroadphaseStatus s;
               {
                   py::gil_scoped_release release;
                   std::unique_lock lock(self.mu);
                   s = self.core.insert(i.data(), l.data(), h.data(), rows_of(i),
                                        lay.empty() ? nullptr : lay.data(),
                                        msk.empty() ? nullptr : msk.data());
               }
               raise_status(s, true);
           },
           py::arg("ids"), py::arg("lo"), py::arg("hi"), py::arg("layers") = py::none(),
           py::arg("masks") = py::none())
        .def(
            "update",
            [](L& self, py::handle ids, py::handle lo, py::handle hi) {
                Ids i = args::ids(ids, "ids");
                auto [l, h] = boxes(lo, hi);
                args::same_length({{"ids", i.shape(0)}, {"lo", l.shape(0)}});
                BroadphaseStatus s;
                {
                    py::gil_scoped_release release;
                    std::unique_lock lock(self.mu);
                    s = self.core.update(i.data(), l.data(), h.data(), rows_of(i));
                }
                raise_status(s, false);
            },
            py::arg("ids"), py::arg("lo"), py::arg("hi"))
        .def(
            "remove",
            [](L& self, py::handle ids) {
                Ids i = args::ids(ids, "ids");
                BroadphaseStatus s;
                {
                    py::gil_scoped_release release;
                    std::unique_lock lock(self.mu);
                    s = self.core.remove(i.data(), rows_of(i));
                }
                raise_status(s, false);
            },
            py::arg("ids"))
        .def("__len__",
             [](const L& self) {
                 std::shared_lock lock(self.mu);
                 return self.core.size();
             })
        .def(
            "__contains__",
            [](const L& self, std::int64_t id) {
                std::shared_lock lock(self.mu);
                return self.core.contains(id);
            },
            py::arg("id"))
        .def_property(
            "max_results",
            [](const L& self) {
                std::shared_lock lock(self.mu);
                return self.core.max_results();
            },
            [](L& self, py::handle limit) {
                // Any size in [0, 2^62]: up to the caller to raise it past the default.
                const double v = args::scalar(limit, "max_results", 0.0, 4.6e18);
                if (v != std::floor(v)) throw py::value_error("max_results must be an integer");
                py::gil_scoped_release release;
                std::unique_lock lock(self.mu);
                self.core.set_max_results(static_cast<std::size_t>(v));
            })
        .def_property(
            "max_items",
            [](const L& self) {
                std::shared_lock lock(self.mu);
                return self.core.max_items();
            },
            [](L& self, py::handle limit) {
                // Lowering only: values past kMaxBroadphaseItems are rejected, not clamped.
                const double v = args::scalar(limit, "max_items", 0.0,
                                              static_cast<double>(kMaxBroadphaseItems));
                if (v != std::floor(v)) throw py::value_error("max_items must be an integer");
                py::gil_scoped_release release;
                std::unique_lock lock(self.mu);
                self.core.set_max_items(static_cast<std::size_t>(v));
            })
        .def_property_readonly("nbytes",
                               [](const L& self) {
                                   std::shared_lock lock(self.mu);
                                   return self.core.memory_bytes();
                               })
        .def("check_invariants",
             [](const L& self) {
                 py::gil_scoped_release release;
                 std::shared_lock lock(self.mu);
                 return self.core.check_invariants();
             })
        .def(
            "pairs",
            [](const L& self, py::handle ids) {
                std::vector<std::int64_t> out;
                bool ok = true;
                std::size_t limit = 0;
                if (ids.is_none()) {
                    py::gil_scoped_release release;
                    std::shared_lock lock(self.mu);
                    ok = self.core.pairs(out);
                    limit = self.core.max_results();
                } else {
                    Ids i = args::ids(ids, "ids");
                    BroadphaseStatus s;
                    {
                        py::gil_scoped_release release;
                        std::shared_lock lock(self.mu);
                        s = self.core.checked_pairs_involving(i.data(), rows_of(i), out, &ok);
                        limit = self.core.max_results();
                    }
                    raise_status(s, false);
                }
                if (!ok) raise_over_limit("pairs", limit);
                return pair_array(std::move(out));
            },
            py::arg("ids") = py::none())
        .def(
            "pairs_with",
            [](const L& self, py::handle other) {
                const std::shared_mutex* omu = nullptr;
                const Broadphase* o = as_broadphase(other, &omu);
                std::vector<std::int64_t> out;
                bool ok = true;
                std::size_t limit = 0;
                {
                    py::gil_scoped_release release;
                    // Lock in address order so that a.pairs_with(b) and b.pairs_with(a) running
                    // with a waiting writer cannot deadlock.
                    const std::shared_mutex* first = &self.mu < omu ? &self.mu : omu;
                    const std::shared_mutex* second = &self.mu < omu ? omu : &self.mu;
                    std::shared_lock l1(*const_cast<std::shared_mutex*>(first));
                    std::shared_lock<std::shared_mutex> l2;
                    if (second != first) l2 = std::shared_lock(*const_cast<std::shared_mutex*>(second));
                    ok = self.core.pairs_with(*o, out);
                    limit = self.core.max_results();
                }
                if (!ok) raise_over_limit("pairs_with", limit);
                return pair_array(std::move(out));
            },
            py::arg("other"))
        .def(
            "query_aabb",
            [](const L& self, py::handle lo, py::handle hi, py::handle mask) {
                // Named references, not a structured binding: C++17 lambdas cannot capture
                // those (clang rejects it), and the check below is a lambda.
                auto lo_hi = boxes(lo, hi);
                auto& l = std::get<0>(lo_hi);
                auto& h = std::get<1>(lo_hi);
                const std::uint32_t mk = query_mask(mask);
                const BroadphaseStatus s = [&] {
                    // Reuse the insert checks for lo <= hi (ids are not involved).
                    for (std::size_t i = 0; i < rows_of(l); ++i)
                        for (std::uint8_t k = 0; k < 3; ++k)
                            if (l.data()[3 * i + k] > h.data()[3 * i + k]) {
                                BroadphaseStatus e;
                                e.code = BroadphaseError::kInverted;
                                e.index = i;
                                e.component = k;
                                e.value = l.data()[3 * i + k];
                                return e;
                            }
                    return BroadphaseStatus{};
                }();
                raise_status(s, false);
                CsrResult r;
                std::size_t limit = 0;
                {
                    py::gil_scoped_release release;
                    std::shared_lock lock(self.mu);
                    r = self.core.query_aabb(l.data(), h.data(), rows_of(l), mk);
                    limit = self.core.max_results();
                }
                return csr_tuple(std::move(r), "query_aabb", limit);
            },
            py::arg("lo"), py::arg("hi"), py::arg("mask") = py::none())
        .def(
            "query_sphere",
            [](const L& self, py::handle centers, py::handle radii, py::handle mask) {
                Rows c = args::rows(centers, "centers", 3);
                Rows r = args::vector(radii, "radii");
                args::same_length({{"centers", c.shape(0)}, {"radii", r.shape(0)}});
                args::raise_if(first_negative(r.data(), rows_of(r), 1), "radii", 0);
                const std::uint32_t mk = query_mask(mask);
                CsrResult out;
                std::size_t limit = 0;
                {
                    py::gil_scoped_release release;
                    std::shared_lock lock(self.mu);
                    out = self.core.query_sphere(c.data(), r.data(), rows_of(c), mk);
                    limit = self.core.max_results();
                }
                return csr_tuple(std::move(out), "query_sphere", limit);
            },
            py::arg("centers"), py::arg("radii"), py::arg("mask") = py::none())
        .def(
            "raycast",
            [](const L& self, py::handle origins, py::handle dirs, py::handle max_t, py::handle mask) {
                Rows o = args::rows(origins, "origins", 3);
                Rows d = ray_dirs(dirs, o.shape(0));
                Rows t = ray_lengths(max_t, o.shape(0));
                const std::uint32_t mk = query_mask(mask);
                CsrResult out;
                std::size_t limit = 0;
                {
                    py::gil_scoped_release release;
                    std::shared_lock lock(self.mu);
                    out = self.core.raycast(o.data(), d.data(), t.data(), rows_of(o), mk);
                    limit = self.core.max_results();
                }
                return csr_tuple(std::move(out), "raycast", limit);
            },
            py::arg("origins"), py::arg("dirs"), py::arg("max_t"), py::arg("mask") = py::none())
        .def(
            "raycast_first",
            [](const L& self, py::handle origins, py::handle dirs, py::handle max_t, py::handle mask) {
                Rows o = args::rows(origins, "origins", 3);
                Rows d = ray_dirs(dirs, o.shape(0));
                Rows t = ray_lengths(max_t, o.shape(0));
                const std::uint32_t mk = query_mask(mask);
                const std::size_t n = rows_of(o);
                std::vector<RayHit> hits(n);
                {
                    py::gil_scoped_release release;
                    std::shared_lock lock(self.mu);
                    self.core.raycast_first(o.data(), d.data(), t.data(), n, hits.data(), mk);
                }
                py::array_t<std::int64_t> ids(static_cast<py::ssize_t>(n));
                Rows ts(static_cast<py::ssize_t>(n));
                for (std::size_t i = 0; i < n; ++i) {
                    ids.mutable_data()[i] = hits[i].id;
                    ts.mutable_data()[i] = hits[i].t;
                }
                return py::make_tuple(ids, ts);
            },
            py::arg("origins"), py::arg("dirs"), py::arg("max_t"), py::arg("mask") = py::none());
}

const Broadphase* as_broadphase(py::handle other, const std::shared_mutex** mu) {
    if (py::isinstance<Locked<SpatialHash>>(other)) {
        auto& o = other.cast<const Locked<SpatialHash>&>();
        *mu = &o.mu;
        return &o.core;
    }
    if (py::isinstance<Locked<SweepAndPrune>>(other)) {
        auto& o = other.cast<const Locked<SweepAndPrune>&>();
        *mu = &o.mu;
        return &o.core;
    }
    if (py::isinstance<Locked<DynamicTree>>(other)) {
        auto& o = other.cast<const Locked<DynamicTree>&>();
        *mu = &o.mu;
        return &o.core;
    }
    throw py::type_error("other must be a SpatialHash, SweepAndPrune or DynamicTree");
}

}  // namespace

void register_broadphase(py::module_& m) {
    // Private: the broad phase's SIMD width (fbsim::force_simd_level), so tests run every kernel
    // in one process. "auto" drops the override (back to FBSIM_SIMD's choice, else the CPU's
    // widest); returns the previous override's name.
    m.def(
        "_force_simd",
        [](const std::string& level) {
            static const char* const kNames[] = {"auto", "scalar", "sse2", "avx2"};
            int k = 0;
            while (k < 4 && level != kNames[k]) ++k;
            if (k == 4) throw py::value_error("level must be 'auto', 'scalar', 'sse2' or 'avx2', got '" + level + "'");
            const int previous = static_cast<int>(force_simd_level(static_cast<SimdLevel>(k)));
            return std::string(kNames[previous >= 0 && previous < 4 ? previous : 0]);  // a C++ caller's odd value
        },
        py::arg("level"));
    m.def("_simd_level", [] {
        static const char* const kNames[] = {"auto", "scalar", "sse2", "avx2"};
        return std::string(kNames[static_cast<int>(simd_level())]);
    });
    py::class_<Locked<SpatialHash>> hash(m, "SpatialHash");
    hash.def(py::init([](py::handle cell_size) {
                 double c = 0.0;
                 if (!cell_size.is_none())
                     c = args::scalar(cell_size, "cell_size", SpatialHash::kMinCellSize, kMaxCoordinate);
                 return std::make_unique<Locked<SpatialHash>>(c);
             }),
             py::arg("cell_size") = py::none())
        .def_property_readonly("cell_size", [](const Locked<SpatialHash>& s) {
            std::shared_lock lock(s.mu);
            return s.core.cell_size();
        })
        .def_property(
            "buffer_cap",
            [](const Locked<SpatialHash>& s) {
                std::shared_lock lock(s.mu);
                return s.core.buffer_cap();
            },
            [](Locked<SpatialHash>& s, py::handle cap) {
                // None: automatic. Else an integer in [0, kMaxBufferCap]; may merge (O(n)).
                if (cap.is_none()) {
                    py::gil_scoped_release release;  // may merge: O(n), as set_buffer_cap
                    std::unique_lock lock(s.mu);
                    s.core.set_auto_buffer_cap();
                    return;
                }
                const double v = args::scalar(cap, "buffer_cap", 0.0,
                                              static_cast<double>(SpatialHash::kMaxBufferCap));
                if (v != std::floor(v)) throw py::value_error("buffer_cap must be an integer");
                py::gil_scoped_release release;
                std::unique_lock lock(s.mu);
                s.core.set_buffer_cap(static_cast<std::size_t>(v));
            })
        .def_property_readonly("buffered",
                               [](const Locked<SpatialHash>& s) {
                                   std::shared_lock lock(s.mu);
                                   return s.core.buffered();
                               })
        .def_property_readonly("tombstones", [](const Locked<SpatialHash>& s) {
            std::shared_lock lock(s.mu);
            return s.core.tombstones();
        });
    bind_structure<SpatialHash>(m, "SpatialHash", "Hierarchical loose spatial hash. See fbsim.spatial.", hash);

    py::class_<Locked<SweepAndPrune>> sap(m, "SweepAndPrune");
    sap.def(py::init([](py::handle axis) {
                if (!py::isinstance<py::int_>(axis) || py::isinstance<py::bool_>(axis))
                    throw py::type_error("axis must be an int (0, 1 or 2)");
                const long long a = axis.cast<long long>();
                if (a < 0 || a > 2) throw py::value_error("axis must be 0, 1 or 2, got " + std::to_string(a));
                return std::make_unique<Locked<SweepAndPrune>>(static_cast<int>(a));
            }),
            py::arg("axis") = 0)
        .def_property_readonly("axis", [](const Locked<SweepAndPrune>& s) { return s.core.axis(); });
    bind_structure<SweepAndPrune>(m, "SweepAndPrune", "Sweep and prune on one axis. See fbsim.spatial.", sap);

    py::class_<Locked<DynamicTree>> tree(m, "DynamicTree");
    tree.def(py::init([](py::handle margin) {
                 const double mg = args::scalar(margin, "margin", 0.0, kMaxCoordinate);
                 return std::make_unique<Locked<DynamicTree>>(mg);
             }),
             py::arg("margin") = 0.1)
        .def_property_readonly("margin", [](const Locked<DynamicTree>& s) { return s.core.margin(); })
        .def_property_readonly("height", [](const Locked<DynamicTree>& s) {
            std::shared_lock lock(s.mu);
            return s.core.height();
        });
    bind_structure<DynamicTree>(m, "DynamicTree", "Dynamic AABB tree. See fbsim.spatial.", tree);
    m.attr("MAX_QUERY_RESULTS") = kMaxQueryResults;  // issue 10: default result-size cap
    m.attr("MAX_BROADPHASE_ITEMS") = kMaxBroadphaseItems;  // issue 10: 32-bit slots
}

}  // namespace fbsim::python
