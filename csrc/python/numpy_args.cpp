// SPDX-License-Identifier: MIT
// fbsim._core: implementation of the numpy boundary helpers (see numpy_args.hpp).
#include "numpy_args.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace fbsim::args {

namespace {

std::string shape_text(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) {
        if (d) s += ", ";
        s += std::to_string(a.shape(d));
    }
    if (a.ndim() == 1) s += ",";
    return s + ")";
}

std::string expected_shape_text(std::initializer_list<py::ssize_t> trailing) {
    std::string s = "(n";
    for (py::ssize_t t : trailing) s += ", " + std::to_string(t);
    if (trailing.size() == 0) s += ",";
    return s + ")";
}

std::string number_text(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

// Steps 1 and 2 of the boundary: None and the dtype kind. Returns the array view of `obj`.
py::array numeric_array(py::handle obj, const char* name, const char* kinds, const char* what) {
    if (obj.is_none()) throw py::type_error(std::string(name) + " must be an array, not None");
    py::array a = py::array::ensure(obj);
    if (!a) {
        throw py::type_error(std::string(name) + " must be an array-like of " + what +
                             " (could not convert a " + std::string(py::str(obj.get_type().attr("__name__"))) +
                             " to a numeric array)");
    }
    const char kind = a.dtype().kind();
    if (std::string(kinds).find(kind) == std::string::npos) {
        throw py::type_error(std::string(name) + " must be " + what + ", got dtype " +
                             std::string(py::str(a.dtype())));
    }
    return a;
}

}  // namespace

void raise_if(const Status& status, const char* name, py::ssize_t cols) {
    if (status.ok()) return;
    std::string where = std::string(name) + "[" + std::to_string(status.index);
    if (cols > 0) where += ", " + std::to_string(status.component);
    where += "]";
    std::string msg;
    switch (status.code) {
        case ErrorCode::kNotFinite:
            msg = where + " is " + number_text(status.value) + "; values must be finite";
            break;
        case ErrorCode::kOutOfRange:
            msg = where + " = " + number_text(status.value) + " exceeds the world limit " +
                  number_text(kMaxCoordinate);
            break;
        case ErrorCode::kNegative:
            msg = where + " = " + number_text(status.value) + " is negative; sizes must be >= 0";
            break;
        case ErrorCode::kZeroQuaternion:
            msg = std::string(name) + "[" + std::to_string(status.index) + "] has norm " +
                  number_text(status.value) + "; a quaternion must have norm > 1e-9";
            break;
        case ErrorCode::kNotRotation:
            msg = std::string(name) + "[" + std::to_string(status.index) +
                  "] is not a rotation matrix (orthonormal within 1e-6, determinant +1)";
            break;
        default:
            msg = where + " " + error_message(status.code);
    }
    throw py::value_error(msg);
}

Rows array(py::handle obj, const char* name, std::initializer_list<py::ssize_t> trailing,
           double limit) {
    py::array a = numeric_array(obj, name, "iuf", "real numbers");
    const auto ndim = static_cast<py::ssize_t>(1 + trailing.size());
    bool shape_ok = a.ndim() == ndim;
    for (py::ssize_t d = 1; shape_ok && d < ndim; ++d) {
        shape_ok = a.shape(d) == *(trailing.begin() + (d - 1));
    }
    if (!shape_ok) {
        throw py::value_error(std::string(name) + " must have shape " +
                              expected_shape_text(trailing) + ", got " + shape_text(a));
    }
    // Step 3: one conversion; passes a C-contiguous float64 array through without a copy.
    Rows out = Rows::ensure(a);
    if (!out) {
        PyErr_Clear();
        out = Rows::ensure(a.attr("astype")("float64"));
        if (!out) throw py::type_error(std::string(name) + " could not be converted to float64");
    }
    // Step 5: finiteness and range, one pass over the data without the GIL.
    std::size_t cols = 1;
    for (py::ssize_t t : trailing) cols *= static_cast<std::size_t>(t);
    const auto n = static_cast<std::size_t>(out.shape(0));
    Status s;
    {
        py::gil_scoped_release release;  // only reads a raw buffer that `out` keeps alive
        s = first_invalid(out.data(), n, cols, limit);
    }
    raise_if(s, name, trailing.size() == 0 ? 0 : static_cast<py::ssize_t>(cols));
    return out;
}

Rows fixed(py::handle obj, const char* name, py::ssize_t size, double limit) {
    py::array a = numeric_array(obj, name, "iuf", "real numbers");
    if (a.ndim() != 1 || a.shape(0) != size) {
        throw py::value_error(std::string(name) + " must have shape (" + std::to_string(size) +
                              ",), got " + shape_text(a));
    }
    Rows out = Rows::ensure(a);
    if (!out) {
        PyErr_Clear();
        out = Rows::ensure(a.attr("astype")("float64"));
    }
    raise_if(first_invalid(out.data(), 1, static_cast<std::size_t>(size), limit), name, size);
    return out;
}

Ids ids(py::handle obj, const char* name) {
    py::array a = numeric_array(obj, name, "iu", "integers");
    if (a.ndim() != 1) {
        throw py::value_error(std::string(name) + " must have shape (n,), got " + shape_text(a));
    }
    if (a.dtype().kind() == 'u' && a.dtype().itemsize() == 8 && a.size() > 0) {
        // uint64 above 2^63-1 has no int64 id; numpy's cast would wrap it silently.
        py::object big = a.attr("max")();
        if (big.cast<unsigned long long>() >
            static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max())) {
            throw py::value_error(std::string(name) + " has a value above the int64 range");
        }
    }
    Ids out = Ids::ensure(a);
    if (!out) {
        PyErr_Clear();
        out = Ids::ensure(a.attr("astype")("int64"));
        if (!out) throw py::type_error(std::string(name) + " could not be converted to int64");
    }
    return out;
}

double scalar(py::handle obj, const char* name, double lo, double hi) {
    if (obj.is_none()) throw py::type_error(std::string(name) + " must be a number, not None");
    if (py::isinstance<py::bool_>(obj) || !(py::isinstance<py::float_>(obj) || py::isinstance<py::int_>(obj) ||
                                             py::hasattr(obj, "__float__"))) {
        throw py::type_error(std::string(name) + " must be a real number");
    }
    const double v = py::float_(py::reinterpret_borrow<py::object>(obj)).cast<double>();
    if (!std::isfinite(v)) throw py::value_error(std::string(name) + " is " + number_text(v) + "; it must be finite");
    if (v < lo || v > hi) {
        throw py::value_error(std::string(name) + " = " + number_text(v) + " must be in [" +
                              number_text(lo) + ", " + number_text(hi) + "]");
    }
    return v;
}

void same_length(std::initializer_list<std::pair<const char*, py::ssize_t>> lengths) {
    if (lengths.size() == 0) return;
    const auto& first = *lengths.begin();
    for (const auto& item : lengths) {
        if (item.second != first.second) {
            throw py::value_error(std::string(item.first) + " has " + std::to_string(item.second) +
                                  " rows but " + first.first + " has " +
                                  std::to_string(first.second));
        }
    }
}

void register_args(py::module_& m) {
    m.attr("MAX_COORDINATE") = kMaxCoordinate;
    m.attr("MIN_QUATERNION_NORM") = kMinQuaternionNorm;
    m.def(
        "as_rows",
        [](py::handle obj, const char* name, py::ssize_t cols, double limit) {
            if (cols < 0) throw py::value_error("cols must be >= 0");
            return cols == 0 ? vector(obj, name, limit) : rows(obj, name, cols, limit);
        },
        py::arg("obj"), py::arg("name"), py::arg("cols"), py::arg("limit") = kMaxCoordinate,
        "Checked C-contiguous float64 array of shape (n, cols) ((n,) for cols=0): the boundary "
        "checks every fbsim function applies. Raises TypeError/ValueError naming `name`.");
    m.def(
        "as_quats",
        [](py::handle obj, const char* name) {
            Rows q = rows(obj, name, 4, kMaxQuaternionComponent);
            raise_if(validate_quats(q.data(), static_cast<std::size_t>(q.shape(0))), name, 4);
            return q;
        },
        py::arg("obj"), py::arg("name"),
        "Checked (n, 4) quaternions: finite, norm >= 1e-9 (not normalised).");
    m.def(
        "as_sizes",
        [](py::handle obj, const char* name, py::ssize_t cols) {
            if (cols < 0) throw py::value_error("cols must be >= 0");
            Rows s = cols == 0 ? vector(obj, name) : rows(obj, name, cols);
            raise_if(first_negative(s.data(), static_cast<std::size_t>(s.shape(0)),
                                    cols ? static_cast<std::size_t>(cols) : 1),
                     name, cols);
            return s;
        },
        py::arg("obj"), py::arg("name"), py::arg("cols"),
        "Checked sizes (half extents, radii): as_rows plus every value >= 0.");
    m.def(
        "as_ids", [](py::handle obj, const char* name) { return ids(obj, name); }, py::arg("obj"),
        py::arg("name"), "Checked 1-D C-contiguous int64 array of ids.");
}

}  // namespace fbsim::args
