# SPDX-License-Identifier: MIT
# The one place Cython declares fbsim's C++ core (csrc/include/fbsim). Core functions that
# cannot fail or allocate are `noexcept nogil`; they report bad input through Status.
from libc.stdint cimport int64_t, uint8_t


cdef extern from "fbsim/fbsim.hpp" namespace "fbsim":
    int version() noexcept nogil


cdef extern from "fbsim/status.hpp" namespace "fbsim":
    cdef enum class ErrorCode(uint8_t):
        kOk
        kNotFinite
        kOutOfRange
        kNegative
        kZeroQuaternion
        kNotRotation
        kEmpty

    cdef cppclass Status:
        ErrorCode code
        size_t index
        uint8_t component
        double value
        bint ok() noexcept nogil


cdef extern from "fbsim/validate.hpp" namespace "fbsim":
    double kMaxCoordinate
    Status first_invalid(const double* values, size_t rows, size_t cols,
                         double limit) noexcept nogil
