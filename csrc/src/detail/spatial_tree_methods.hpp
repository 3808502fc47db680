// SPDX-License-Identifier: MIT
// fbsim: SpatialTree<D> member functions (validate first, then mutate), shared by octree.cpp
// and quadtree.cpp, which instantiate them for D = 3 and D = 2.
#pragma once

#include <cstring>
#include <type_traits>

#include "detail/spatial_tree_impl.hpp"

namespace fbsim {

template <int D>
SpatialTree<D>::SpatialTree(bool boxes) {
    if (boxes)
        boxes_ = std::make_unique<detail::TreeImpl<D, true>>();
    else
        points_ = std::make_unique<detail::TreeImpl<D, false>>();
}
template <int D>
SpatialTree<D>::~SpatialTree() = default;
template <int D>
SpatialTree<D>::SpatialTree(SpatialTree&&) noexcept = default;
template <int D>
SpatialTree<D>& SpatialTree<D>::operator=(SpatialTree&&) noexcept = default;

template <int D>
template <class Fn>
decltype(auto) SpatialTree<D>::visit(Fn&& fn) const {
    if (boxes_) return fn(static_cast<const detail::TreeImpl<D, true>&>(*boxes_));
    return fn(static_cast<const detail::TreeImpl<D, false>&>(*points_));
}
template <int D>
template <class Fn>
decltype(auto) SpatialTree<D>::visit(Fn&& fn) {
    if (boxes_) return fn(*boxes_);
    return fn(*points_);
}

template <int D>
TreeStatus SpatialTree<D>::build(const double* items, const std::int64_t* ids, std::size_t count) {
    return visit([&](auto& t) {
        using Impl = std::remove_reference_t<decltype(t)>;
        TreeStatus st;
        if (count > kMaxTreeItems) {
            st.code = TreeError::kTooManyItems;
            return st;
        }
        st = t.check_rows(items, count);
        if (!st.ok()) return st;
        if (ids) {
            st = Impl::check_unique(ids, count);
            if (!st.ok()) return st;
        }
        // Build into a fresh structure and move it in: the old tree survives any failure.
        Impl fresh;
        std::vector<typename Impl::Entry> es(count);
        fresh.slots.resize(count);
        std::int64_t max_id = static_cast<std::int64_t>(count) - 1;
        if (ids)
            for (std::size_t i = 0; i < count; ++i) max_id = std::max(max_id, ids[i]);
        fresh.id_to_slot.reserve(count, max_id);
        const std::size_t w = fresh.width();
        for (std::size_t i = 0; i < count; ++i) {
            std::memcpy(es[i].v, items + i * w, sizeof(es[i].v));
            es[i].slot = static_cast<std::int32_t>(i);  // input row until placed
        }
        fresh.build_ids_ = ids;
        fresh.build_all(es);
        fresh.build_ids_ = nullptr;
        t = std::move(fresh);
        return st;
    });
}

template <int D>
TreeStatus SpatialTree<D>::insert(const std::int64_t* ids, const double* items, std::size_t count) {
    return visit([&](auto& t) {
        using Impl = std::remove_reference_t<decltype(t)>;
        TreeStatus st = t.check_rows(items, count);
        if (!st.ok()) return st;
        st = Impl::check_unique(ids, count);
        if (!st.ok()) return st;
        for (std::size_t i = 0; i < count; ++i) {
            if (t.id_to_slot.contains(ids[i])) {
                st.code = TreeError::kIdExists;
                st.index = i;
                st.id = ids[i];
                return st;
            }
        }
        if (t.size() + count > kMaxTreeItems) {
            st.code = TreeError::kTooManyItems;
            return st;
        }
        const std::size_t w = t.width();
        for (std::size_t i = 0; i < count; ++i) {
            typename Impl::Entry e{};
            std::memcpy(e.v, items + i * w, sizeof(e.v));
            e.slot = t.new_slot(ids[i]);
            t.id_to_slot.add(ids[i], e.slot);
            t.insert_entry(e);
        }
        return st;
    });
}

template <int D>
TreeStatus SpatialTree<D>::move(const std::int64_t* ids, const double* items, std::size_t count) {
    return visit([&](auto& t) {
        TreeStatus st = t.check_rows(items, count);
        if (!st.ok()) return st;
        std::vector<std::int32_t> si;
        st = t.resolve(ids, count, si);
        if (!st.ok()) return st;
        const std::size_t w = t.width();
        for (std::size_t i = 0; i < count; ++i) {
            double lo[D], hi[D];
            t.row_box(items + i * w, lo, hi);
            t.move_slot(si[i], lo, hi);
        }
        return st;
    });
}

template <int D>
TreeStatus SpatialTree<D>::remove(const std::int64_t* ids, std::size_t count) {
    return visit([&](auto& t) {
        std::vector<std::int32_t> slots;
        TreeStatus st = t.resolve(ids, count, slots);
        if (!st.ok()) return st;
        for (std::size_t i = 0; i < count; ++i) {
            t.id_to_slot.erase(ids[i]);
            t.remove_slot(slots[i]);
            t.free_slots.push_back(slots[i]);
        }
        return st;
    });
}

template <int D>
std::size_t SpatialTree<D>::size() const noexcept {
    return visit([](const auto& t) { return t.size(); });
}
template <int D>
bool SpatialTree<D>::boxes() const noexcept {
    return boxes_ != nullptr;
}
template <int D>
std::size_t SpatialTree<D>::item_width() const noexcept {
    return boxes_ ? 2 * D : D;
}
template <int D>
bool SpatialTree<D>::contains(std::int64_t id) const noexcept {
    return visit([&](const auto& t) { return t.id_to_slot.contains(id); });
}
template <int D>
std::vector<std::int64_t> SpatialTree<D>::ids() const {
    return visit([](const auto& t) {
        std::vector<std::int64_t> out;
        out.reserve(t.size());
        t.id_to_slot.for_each([&](std::int64_t id, std::int32_t) { out.push_back(id); });
        std::sort(out.begin(), out.end());
        return out;
    });
}

template <int D>
TreeStatus SpatialTree<D>::get(const std::int64_t* ids, std::size_t count, double* out) const {
    return visit([&](const auto& t) {
        TreeStatus st;
        for (std::size_t i = 0; i < count; ++i) {
            if (!t.id_to_slot.contains(ids[i])) {
                st.code = TreeError::kUnknownId;
                st.index = i;
                st.id = ids[i];
                return st;
            }
        }
        const std::size_t w = t.width();
        for (std::size_t i = 0; i < count; ++i) {
            const auto& s = t.slots[static_cast<std::size_t>(t.id_to_slot.find(ids[i]))];
            const auto& e =
                t.nodes[static_cast<std::size_t>(s.node)].items[static_cast<std::size_t>(s.pos)];
            std::memcpy(out + i * w, e.v, sizeof(e.v));
        }
        return st;
    });
}

template <int D>
void SpatialTree<D>::knn(const double* queries, std::size_t count, std::size_t k, int workers,
                         double* out_dist, std::int64_t* out_ids) const {
    visit([&](const auto& t) { t.knn(queries, count, k, workers, out_dist, out_ids); });
}

template <int D>
bool SpatialTree<D>::radius(const double* queries, std::size_t count, const double* radii,
                            std::size_t radius_stride, int workers,
                            std::vector<std::int64_t>& out_offsets,
                            std::vector<std::int64_t>& out_ids) const {
    return visit([&](const auto& t) {
        return t.csr(count, workers, max_results_, out_offsets, out_ids, [&](std::size_t i, std::vector<std::int64_t>& out) {
            const double r = radii[i * radius_stride];
            std::int64_t unused = 0;
            if (t.nodes[0].count > 0)
                t.template radius_node<false>(0, queries + i * D, r * r, out, unused);
        });
    });
}

template <int D>
void SpatialTree<D>::radius_count(const double* queries, std::size_t count, const double* radii,
                                  std::size_t radius_stride, int workers,
                                  std::int64_t* out_counts) const {
    visit([&](const auto& t) {
        detail::parallel_chunks(count, workers, [&](std::size_t, std::size_t b, std::size_t e) {
            std::vector<std::int64_t> unused;
            for (std::size_t i = b; i < e; ++i) {
                const double r = radii[i * radius_stride];
                std::int64_t c = 0;
                if (t.nodes[0].count > 0)
                    t.template radius_node<true>(0, queries + i * D, r * r, unused, c);
                out_counts[i] = c;
            }
        });
    });
}

template <int D>
bool SpatialTree<D>::query_aabb(const double* lo, const double* hi, std::size_t count,
                                int workers, std::vector<std::int64_t>& out_offsets,
                                std::vector<std::int64_t>& out_ids) const {
    return visit([&](const auto& t) {
        return t.csr(count, workers, max_results_, out_offsets, out_ids, [&](std::size_t i, std::vector<std::int64_t>& out) {
            std::int64_t unused = 0;
            if (t.nodes[0].count > 0)
                t.template aabb_node<false>(0, lo + i * D, hi + i * D, out, unused);
        });
    });
}

template <int D>
void SpatialTree<D>::query_aabb_count(const double* lo, const double* hi, std::size_t count,
                                      int workers, std::int64_t* out_counts) const {
    visit([&](const auto& t) {
        detail::parallel_chunks(count, workers, [&](std::size_t, std::size_t b, std::size_t e) {
            std::vector<std::int64_t> unused;
            for (std::size_t i = b; i < e; ++i) {
                std::int64_t c = 0;
                if (t.nodes[0].count > 0)
                    t.template aabb_node<true>(0, lo + i * D, hi + i * D, unused, c);
                out_counts[i] = c;
            }
        });
    });
}

template <int D>
void SpatialTree<D>::raycast(const double* origins, const double* directions, std::size_t count,
                             const double* max_distance, std::size_t max_distance_stride,
                             int workers, double* out_t, std::int64_t* out_ids) const {
    visit([&](const auto& t) {
        detail::parallel_chunks(count, workers, [&](std::size_t, std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                typename std::remove_reference_t<decltype(t)>::RayState st{};
                st.o = origins + i * D;
                const double* d = directions + i * D;
                double n2 = 0.0;
                for (int a = 0; a < D; ++a) n2 += d[a] * d[a];
                const double n = std::sqrt(n2);
                // Distances are in studs along the unit direction; a zero component never divides.
                for (int a = 0; a < D; ++a) {
                    const double u = d[a] / n;
                    st.inv[a] = u == 0.0 ? detail::kInf : 1.0 / u;
                }
                st.tmax = max_distance[i * max_distance_stride];
                st.best_t = detail::kInf;
                st.best_id = std::numeric_limits<std::int64_t>::max();
                if (t.nodes[0].count > 0) t.ray_node(0, st);
                out_t[i] = st.best_t;
                out_ids[i] = st.best_t == detail::kInf ? -1 : st.best_id;
            }
        });
    });
}

template <int D>
std::size_t SpatialTree<D>::node_count() const noexcept {
    return visit([](const auto& t) {
        return t.nodes.size() - t.free_blocks.size() * static_cast<std::size_t>(1 << D);
    });
}

template <int D>
bool SpatialTree<D>::check_invariants() const {
    return visit([](const auto& t) { return t.check_invariants(); });
}

}  // namespace fbsim
