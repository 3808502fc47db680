// SPDX-License-Identifier: MIT
// fbsim._core: world sharding (fbsim/shard.hpp). check arrays -> validate -> allocate with the
// GIL -> release the GIL around one core call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "fbsim/shard.hpp"
#include "fbsim/validate.hpp"
#include "numpy_args.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace fbsim::python {

namespace {

using args::Rows;
using I32 = py::array_t<std::int32_t, py::array::c_style>;

int servers_arg(py::handle obj) {
    if (obj.is_none() || py::isinstance<py::bool_>(obj) || !PyIndex_Check(obj.ptr())) {
        throw py::type_error("n_servers must be an int");
    }
    const long long k = py::int_(py::reinterpret_borrow<py::object>(obj)).cast<long long>();
    if (k < 1 || k > kMaxServers) {
        throw py::value_error("n_servers must be in [1, " + std::to_string(kMaxServers) +
                              "], got " + std::to_string(k));
    }
    return static_cast<int>(k);
}

std::string text(double v) {
    py::object r = py::repr(py::float_(v));
    return r.cast<std::string>();
}

// scipy's convention: workers >= 1 threads, or -1 for one per hardware thread.
int workers_arg(py::handle obj) {
    if (obj.is_none() || py::isinstance<py::bool_>(obj) || !PyIndex_Check(obj.ptr())) {
        throw py::type_error("workers must be an int");
    }
    const long long w = py::int_(py::reinterpret_borrow<py::object>(obj)).cast<long long>();
    if (w == -1) return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (w < 1 || w > 256) {
        throw py::value_error("workers must be in [1, 256] or -1, got " + std::to_string(w));
    }
    return static_cast<int>(w);
}

py::tuple kd_partition_py(py::handle positions, py::handle weights, py::handle n_servers,
                          py::handle workers) {
    Rows pos = args::rows(positions, "positions", 3);
    const int k = servers_arg(n_servers);
    const int threads = workers_arg(workers);
    const auto n = static_cast<std::size_t>(pos.shape(0));
    Rows w;
    const bool have_weights = !weights.is_none();
    if (have_weights) {
        w = args::vector(weights, "weights", std::numeric_limits<double>::max());
        args::same_length({{"weights", w.shape(0)}, {"positions", pos.shape(0)}});
        const Status st = validate_shard_weights(w.data(), n);
        if (!st.ok()) {
            const std::string where = "weights[" + std::to_string(st.index) + "] = " + text(st.value);
            if (st.code == ErrorCode::kNegative) throw py::value_error(where + " is negative; weights must be >= 0");
            if (st.code == ErrorCode::kOutOfRange)
                throw py::value_error(where + " exceeds the weight limit " + text(kMaxShardWeight));
            throw py::value_error(where + "; weights must be finite");
        }
    }
    if (n > kMaxShardEntities) throw py::value_error("positions has too many rows for one partition");
    I32 server(static_cast<py::ssize_t>(n));
    Rows regions({static_cast<py::ssize_t>(k), py::ssize_t{6}});
    const auto n_nodes = static_cast<py::ssize_t>(k - 1);
    I32 axis(n_nodes);
    Rows split(n_nodes);
    I32 children({n_nodes, py::ssize_t{2}});
    std::vector<KdNode> nodes(static_cast<std::size_t>(k - 1));
    {
        py::gil_scoped_release release;
        kd_partition(pos.data(), have_weights ? w.data() : nullptr, n, k, server.mutable_data(),
                     regions.mutable_data(), nodes.data(), threads);
    }
    auto* ax = axis.mutable_data();
    auto* sp = split.mutable_data();
    auto* ch = children.mutable_data();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        ax[i] = nodes[i].axis;
        sp[i] = nodes[i].split;
        ch[2 * i] = nodes[i].left;
        ch[2 * i + 1] = nodes[i].right;
    }
    return py::make_tuple(server, regions, axis, split, children);
}

py::array_t<std::int64_t> outside_py(py::handle positions, py::handle servers, py::handle regions,
                                     py::handle margin) {
    Rows pos = args::rows(positions, "positions", 3);
    args::Ids srv = args::ids(servers, "servers");
    Rows reg = args::rows(regions, "regions", 6);
    const double m = args::scalar(margin, "margin", 0.0, kMaxCoordinate);
    args::same_length({{"servers", srv.shape(0)}, {"positions", pos.shape(0)}});
    const auto n = static_cast<std::size_t>(pos.shape(0));
    const std::int64_t k = reg.shape(0);
    const std::int64_t* sp = srv.data();
    for (std::size_t i = 0; i < n; ++i) {
        if (sp[i] < 0 || sp[i] >= k) {
            throw py::value_error("servers[" + std::to_string(i) + "] = " + std::to_string(sp[i]) +
                                  " is not a server in [0, " + std::to_string(k) + ")");
        }
    }
    // The answer is usually a handful of rows out of a million: scan in chunks through a small
    // buffer instead of zeroing (and faulting in) an n-row scratch array for it.
    constexpr std::size_t kChunk = std::size_t{1} << 14;
    std::vector<std::int64_t> found;
    {
        py::gil_scoped_release release;
        std::vector<std::int64_t> buf(std::min(n, kChunk));
        for (std::size_t first = 0; first < n; first += kChunk) {
            const std::size_t len = std::min(kChunk, n - first);
            const std::size_t got = entities_outside_regions(pos.data() + 3 * first, sp + first, len,
                                                             reg.data(), m, buf.data());
            for (std::size_t j = 0; j < got; ++j) {
                found.push_back(buf[j] + static_cast<std::int64_t>(first));
            }
        }
    }
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(found.size()));
    std::copy(found.begin(), found.end(), out.mutable_data());
    return out;
}

}  // namespace

void register_shard(py::module_& m) {
    m.attr("MAX_SERVERS") = kMaxServers;
    m.attr("MAX_SHARD_WEIGHT") = kMaxShardWeight;
    m.def("kd_partition", &kd_partition_py, py::arg("positions"), py::arg("weights"),
          py::arg("n_servers"), py::arg("workers") = 1,
          "Weighted k-d partition: (server int32 (n,), regions (n_servers, 6), node_axis int32, "
          "node_split float64, node_children int32 (n_servers - 1, 2); child < 0 is server "
          "-child - 1).");
    m.def("entities_outside_regions", &outside_py, py::arg("positions"), py::arg("servers"),
          py::arg("regions"), py::arg("margin"),
          "Rows (int64, ascending) more than margin outside regions[servers[row]].");
}

}  // namespace fbsim::python
