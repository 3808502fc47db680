// SPDX-License-Identifier: MIT
// fbsim: the 2D loose quadtree (SpatialTree<2>), same algorithm as the octree
// (detail/spatial_tree_impl.hpp), compiled separately so the two build in parallel.
#include "detail/spatial_tree_methods.hpp"

namespace fbsim {

template class SpatialTree<2>;

}  // namespace fbsim
