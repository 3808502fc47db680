# SPDX-License-Identifier: MIT
"""Every public array function x every kind of bad input (STYLE.md section 5).

Each case must raise TypeError/ValueError naming the argument, never crash or return garbage;
empty input must return an empty result of the right shape. New kernels add a row to CASES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import fbsim
from fbsim import _core, _kernels

ROT = [[0.0, 0.0, 0.0, 1.0]] * 2


@dataclass
class Case:
    name: str
    func: Callable[..., Any]
    good: dict[str, Any]  # valid arguments, two rows each where the argument is per-row
    out_shape_empty: tuple[int, ...] | None  # result shape for all-empty per-row arguments
    sizes: tuple[str, ...] = ()  # arguments that must be >= 0
    quats: tuple[str, ...] = ()  # arguments that are quaternions
    fixed: tuple[str, ...] = field(default=())  # not per-row (e.g. one translation)


CASES = [
    Case("quat_to_matrix", fbsim.quat_to_matrix, {"quats": ROT}, (0, 3, 3), quats=("quats",)),
    Case("matrix_to_quat", _core.matrix_to_quat, {"matrices": [np.eye(3)] * 2}, (0, 4)),
    Case(
        "obb_to_aabb",
        fbsim.obb_to_aabb,
        {"centers": [[0, 0, 0], [1, 1, 1]], "quats": ROT, "half_extents": [[1, 1, 1]] * 2},
        (0, 6),
        sizes=("half_extents",),
        quats=("quats",),
    ),
    Case(
        "transform_points",
        fbsim.transform_points,
        {"points": [[0, 0, 0], [1, 1, 1]], "translation": [[1, 2, 3]] * 2, "quat": ROT},
        (0, 3),
        quats=("quat",),
    ),
    Case(
        "sphere_to_aabb",
        fbsim.sphere_to_aabb,
        {"centers": [[0, 0, 0], [1, 1, 1]], "radii": [1.0, 2.0]},
        (0, 6),
        sizes=("radii",),
    ),
    Case(
        "capsule_to_aabb",
        fbsim.capsule_to_aabb,
        {"p0": [[0, 0, 0], [1, 1, 1]], "p1": [[0, 1, 0], [1, 2, 1]], "radii": [1.0, 2.0]},
        (0, 6),
        sizes=("radii",),
    ),
    Case(
        "Boxes",
        fbsim.Boxes,
        {"centers": [[0, 0, 0]] * 2, "quats": ROT, "half_extents": [[1, 1, 1]] * 2},
        None,
        sizes=("half_extents",),
        quats=("quats",),
    ),
    Case(
        "Spheres",
        fbsim.Spheres,
        {"centers": [[0, 0, 0]] * 2, "radii": [1.0, 1.0]},
        None,
        sizes=("radii",),
    ),
    Case(
        "Capsules",
        fbsim.Capsules,
        {"p0": [[0, 0, 0]] * 2, "p1": [[0, 1, 0]] * 2, "radii": [1.0, 1.0]},
        None,
        sizes=("radii",),
    ),
]
IDS = [c.name for c in CASES]


def _call(case: Case, **override):
    args = {k: np.asarray(v, dtype=float) for k, v in case.good.items()}
    args.update(override)
    return case.func(**args)


def _bad_values(value: np.ndarray):
    """(label, replacement, exception) for one per-row float argument."""
    flat_index = (1, *([0] * (value.ndim - 1)))
    for label, bad in [("nan", np.nan), ("inf", np.inf), ("-inf", -np.inf), ("huge", 1e300)]:
        v = value.copy()
        v[flat_index] = bad
        yield label, v, ValueError
    yield "none", None, TypeError
    yield "strings", value.astype(str), TypeError
    yield "complex", value.astype(complex), TypeError
    yield "bool", value.astype(bool), TypeError
    yield "object", value.astype(object), TypeError
    yield "extra_dim", value[None], ValueError
    yield "scalar", np.float64(1.0), ValueError
    if value.ndim >= 2:
        yield "wrong_cols", np.zeros((value.shape[0], value.shape[-1] + 1)), ValueError
    yield "mismatched_rows", np.concatenate([value, value[:1]]), ValueError


def _bad_cases():
    for case in CASES:
        for arg, value in case.good.items():
            for label, bad, exc in _bad_values(np.asarray(value, dtype=float)):
                if label == "mismatched_rows" and len(case.good) == 1:
                    continue
                yield pytest.param(case, arg, bad, exc, id=f"{case.name}-{arg}-{label}")


@pytest.mark.parametrize(("case", "arg", "bad", "exc"), list(_bad_cases()))
def test_bad_input_raises_naming_argument(case, arg, bad, exc):
    with pytest.raises(exc, match=arg if arg != "matrices" or exc is TypeError else "matrices"):
        _call(case, **{arg: bad})


@pytest.mark.parametrize("case", [c for c in CASES if c.sizes], ids=lambda c: c.name)
def test_negative_sizes_rejected(case):
    for arg in case.sizes:
        v = np.asarray(case.good[arg], dtype=float).copy()
        v.reshape(-1)[-1] = -0.5
        with pytest.raises(ValueError, match=rf"{arg}\[1.*negative"):
            _call(case, **{arg: v})


@pytest.mark.parametrize("case", [c for c in CASES if c.quats], ids=lambda c: c.name)
@pytest.mark.parametrize("tiny", [0.0, 1e-12])
def test_zero_quaternions_rejected(case, tiny):
    for arg in case.quats:
        v = np.asarray(case.good[arg], dtype=float).copy()
        v[1] = [tiny, 0, 0, 0]
        with pytest.raises(ValueError, match=rf"{arg}\[1\] has norm"):
            _call(case, **{arg: v})


@pytest.mark.parametrize("case", [c for c in CASES if c.out_shape_empty], ids=lambda c: c.name)
def test_empty_input_gives_empty_output(case):
    empty = {k: np.asarray(v, dtype=float)[:0] for k, v in case.good.items()}
    out = case.func(**empty)
    assert out.shape == case.out_shape_empty
    assert out.dtype == np.float64


def test_integer_and_noncontiguous_input_accepted():
    centers = np.arange(12, dtype=np.int32).reshape(2, 6)[:, ::2]  # strided int view
    out = fbsim.obb_to_aabb(centers, np.array(ROT, dtype=np.float32), np.ones((2, 3), np.uint8))
    np.testing.assert_array_equal(out[:, :3], centers - 1)


def test_read_only_input_accepted():
    c = np.zeros((2, 3))
    c.flags.writeable = False
    assert fbsim.obb_to_aabb(c, ROT, np.ones((2, 3))).shape == (2, 6)


def test_hull_offsets_checked():
    pts = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"offsets\[0\] must be 0"):
        fbsim.hull_to_aabb(pts, [1, 3])
    with pytest.raises(ValueError, match=r"offsets\[2\].*empty"):
        fbsim.hull_to_aabb(pts, [0, 2, 2, 3])
    with pytest.raises(ValueError, match=r"offsets\[-1\] = 2"):
        fbsim.hull_to_aabb(pts, [0, 2])
    with pytest.raises(TypeError, match="offsets must be integers"):
        fbsim.hull_to_aabb(pts, [0.0, 3.0])
    with pytest.raises(ValueError, match=r"points_list\[1\] is empty"):
        fbsim.Hulls([np.zeros((2, 3)), np.zeros((0, 3))])
    with pytest.raises(ValueError, match=r"points_list\[0\]\[0, 1\] is nan"):
        fbsim.Hulls([[[0, np.nan, 0]]])
    assert fbsim.hull_to_aabb(np.zeros((0, 3)), [0]).shape == (0, 6)


def test_transform_single_translation_shape_checked():
    with pytest.raises(ValueError, match=r"quat must have shape \(4,\)"):
        fbsim.transform_points(np.zeros((2, 3)), [0, 0, 0], [0, 0, 1])
    with pytest.raises(ValueError, match=r"quat\[0\] has norm"):
        fbsim.transform_points(np.zeros((2, 3)), [0, 0, 0], [0, 0, 0, 0])


def test_as_ids_rejects_floats_and_overflow():
    with pytest.raises(TypeError, match="ids must be integers"):
        _core.as_ids([1.0, 2.0], "ids")
    with pytest.raises(ValueError, match="above the int64 range"):
        _core.as_ids(np.array([2**63], dtype=np.uint64), "ids")
    with pytest.raises(TypeError, match="ids must be an array, not None"):
        _core.as_ids(None, "ids")
    assert _core.as_ids(np.array([], dtype=np.int32), "ids").dtype == np.int64


def test_id_index_rejects_bad_batches_without_change():
    idx = _kernels.IdIndex()
    idx.add([1, 2, 3])
    before = idx.ids()
    for bad, exc, match in [
        ([4, 2], ValueError, r"ids\[1\] = 2 already exists"),
        ([5, 5], ValueError, r"ids\[1\] = 5 is repeated"),
        ([1.5], TypeError, "ids must be integers"),
        (None, TypeError, "ids must be an array"),
    ]:
        with pytest.raises(exc, match=match):
            idx.add(bad)
        np.testing.assert_array_equal(idx.ids(), before)
    for bad, match in [
        ([3, 9], r"ids\[1\] = 9 does not exist"),
        ([3, 3], r"ids\[1\] = 3 is repeated"),
    ]:
        with pytest.raises(ValueError, match=match):
            idx.remove(bad)
        np.testing.assert_array_equal(idx.ids(), before)
