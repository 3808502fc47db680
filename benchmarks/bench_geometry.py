# SPDX-License-Identifier: MIT
"""asv: batch geometry conversions (the per-tick cost of turning placed items into AABBs)."""

from __future__ import annotations

import numpy as np

import fbsim

from .common import random_boxes


class ObbToAabb:
    params = [1_000, 100_000, 1_000_000]
    param_names = ["n"]

    def setup(self, n):
        self.centers, self.quats, self.half_extents = random_boxes(n, seed=1)
        fbsim.obb_to_aabb(self.centers, self.quats, self.half_extents)  # touch pages first

    def time_batch(self, n):
        fbsim.obb_to_aabb(self.centers, self.quats, self.half_extents)

    def peakmem_batch(self, n):
        fbsim.obb_to_aabb(self.centers, self.quats, self.half_extents)


class QuatToMatrix:
    params = [1_000, 100_000, 1_000_000]
    param_names = ["n"]

    def setup(self, n):
        self.quats = np.random.default_rng(2).normal(size=(n, 4))
        self.matrices = fbsim.quat_to_matrix(self.quats)

    def time_quat_to_matrix(self, n):
        fbsim.quat_to_matrix(self.quats)

    def time_matrix_to_quat(self, n):
        fbsim.matrix_to_quat(self.matrices)


class TransformPoints:
    params = [1_000, 1_000_000]
    param_names = ["n"]

    def setup(self, n):
        rng = np.random.default_rng(3)
        self.points = rng.uniform(-100, 100, size=(n, 3))
        self.quats = rng.normal(size=(n, 4))
        self.translations = rng.normal(size=(n, 3))

    def time_one_transform(self, n):
        fbsim.transform_points(self.points, self.translations[0], self.quats[0])

    def time_paired_transforms(self, n):
        fbsim.transform_points(self.points, self.translations, self.quats)


class Validation:
    """The boundary checks alone: what every call pays before any kernel runs."""

    params = [1_000_000]
    param_names = ["n"]

    def setup(self, n):
        self.centers = random_boxes(n, seed=4)[0]

    def time_as_rows(self, n):
        fbsim._core.as_rows(self.centers, "centers", 3)
