// SPDX-License-Identifier: MIT
// fbsim._core: the numpy boundary. Every binding converts and checks its array arguments with
// these helpers, so every public function rejects bad input with the same messages:
//   "<arg>[<row>, <col>] is nan; values must be finite", "<arg> must have shape (n, 3), got (5, 4)".
// All of them need the GIL; none of them runs a kernel.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "fbsim/status.hpp"
#include "fbsim/validate.hpp"

namespace fbsim::args {

namespace py = pybind11;

/// C-contiguous float64 array, the one layout kernels read.
using Rows = py::array_t<double, py::array::c_style>;
/// C-contiguous int64 array, for ids and offsets.
using Ids = py::array_t<std::int64_t, py::array::c_style>;

/// Converts `obj` to a C-contiguous float64 array of shape (n, *trailing) and checks, in order:
/// not None (TypeError), real numeric dtype (TypeError for bool, complex, object, str),
/// shape (ValueError), every value finite with |v| <= limit (ValueError naming the element).
/// Copies only when dtype or layout differ. Empty input must still have the trailing shape.
Rows array(py::handle obj, const char* name, std::initializer_list<py::ssize_t> trailing,
           double limit = kMaxCoordinate);

/// array() with trailing shape {cols}: an (n, cols) array.
inline Rows rows(py::handle obj, const char* name, py::ssize_t cols,
                 double limit = kMaxCoordinate) {
    return array(obj, name, {cols}, limit);
}

/// array() with no trailing shape: an (n,) array (radii, costs).
inline Rows vector(py::handle obj, const char* name, double limit = kMaxCoordinate) {
    return array(obj, name, {}, limit);
}

/// A single fixed-size value such as one translation (3,) or one quaternion (4,).
Rows fixed(py::handle obj, const char* name, py::ssize_t size, double limit = kMaxCoordinate);

/// Converts `obj` to a 1-D C-contiguous int64 array. Integer dtypes only (TypeError for floats,
/// bool, str); uint64 values above int64's range raise ValueError.
Ids ids(py::handle obj, const char* name);

/// A Python float argument (tolerance, cell size): finite, within [lo, hi], else ValueError.
double scalar(py::handle obj, const char* name, double lo, double hi);

/// ValueError unless all arrays have the same number of rows:
/// "radii has 5 rows but centers has 4".
void same_length(std::initializer_list<std::pair<const char*, py::ssize_t>> lengths);

/// Raises ValueError with the standard message when `status` is not ok; `name` is the argument
/// the status refers to and `cols` its row width (0 for a 1-D array, omitting the column).
void raise_if(const Status& status, const char* name, py::ssize_t cols);

/// Registers `as_rows`, `as_ids` and the limits in `m`, so Python and Cython code reuse exactly
/// these checks and messages.
void register_args(py::module_& m);

}  // namespace fbsim::args
