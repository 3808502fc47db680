// SPDX-License-Identifier: MIT
// fbsim._core: the per-subsystem registration functions module.cpp calls.
#pragma once

#include <pybind11/pybind11.h>

namespace fbsim::python {

void register_geometry(pybind11::module_& m);
void register_narrowphase(pybind11::module_& m);
void register_broadphase(pybind11::module_& m);
void register_pathfinding(pybind11::module_& m);
void register_octree(pybind11::module_& m);
void register_shard(pybind11::module_& m);  // issue 11

}  // namespace fbsim::python
