// SPDX-License-Identifier: MIT
// fbsim._core: the pybind11 module. One register_<subsystem>() per concept (boost-histogram).
#include <pybind11/pybind11.h>

#include "fbsim/fbsim.hpp"
#include "numpy_args.hpp"
#include "register.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
    m.doc() = "fbsim._core: numpy-in, numpy-out bindings of the fbsim C++ core. "
              "Use the documented wrappers in fbsim.* instead of calling this directly.";
    m.def("version", &fbsim::version,
          "Linked core version as major * 10000 + minor * 100 + patch.");
    fbsim::args::register_args(m);
    fbsim::python::register_geometry(m);
    fbsim::python::register_narrowphase(m);
    fbsim::python::register_broadphase(m);
    fbsim::python::register_pathfinding(m);
    fbsim::python::register_octree(m);
    fbsim::python::register_shard(m);  // issue 11
}
