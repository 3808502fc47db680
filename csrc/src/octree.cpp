// SPDX-License-Identifier: MIT
// fbsim: the 3D loose octree (SpatialTree<3>). The algorithm lives in
// detail/spatial_tree_impl.hpp (Ulrich's loose octree with bucket leaves; see its header
// comment for sources and deviations); this file instantiates it and holds the messages.
#include "detail/spatial_tree_methods.hpp"

namespace fbsim {

template class SpatialTree<3>;

const char* tree_error_message(TreeError code) noexcept {
    switch (code) {
        case TreeError::kOk: return "ok";
        case TreeError::kInvalidGeometry: return "is nan, inf or out of range";
        case TreeError::kInvertedBox: return "has hi < lo";
        case TreeError::kUnknownId: return "is not in the tree";
        case TreeError::kDuplicateId: return "appears more than once in the batch";
        case TreeError::kIdExists: return "is already in the tree";
        case TreeError::kTooManyItems: return "would exceed the tree's item limit";
    }
    return "unknown error";
}

}  // namespace fbsim
