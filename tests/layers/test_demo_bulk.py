"""The demo generator draws in bulk what it once drew village by village.

The lanes, farm tracks and links of the demo county are built with array operations
from one block of draws per stream (``layers.demo._plan_grid_draws``); the output must
be the village-by-village generator's, number for number, so every figure quoted from
the demo county stays true. The golden digest below was taken from that loop generator
(commit 5880acf) at ``scale=0.3``.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import shapely

from layers import demo as D
from layers.demo import generate_demo_county

#: sha256 of the roads and villages of ``generate_demo_county(scale=0.3)`` as the
#: village-by-village generator made them (see :func:`_digest`).
LOOP_GENERATOR_DIGEST_X03 = "6d4990f800b4c93e27356d601b5153cf49a534977bf54f6b53bff21d7683e692"


def _text(values) -> bytes:
    return "\x1f".join("" if pd.isna(x) else str(x) for x in values).encode()


def _digest(layers) -> str:
    """Coordinates rounded to 1e-9° (a tenth of a millimetre) and the key attributes."""
    h = hashlib.sha256()
    roads = layers["roads"]
    geoms = roads.geometry.to_numpy()
    h.update(np.round(shapely.get_coordinates(geoms), 9).tobytes())
    h.update(shapely.get_num_coordinates(geoms).astype(np.int64).tobytes())
    for col in ("id", "name", "road_class", "surface", "speed_kmh", "oneway"):
        h.update(_text(roads[col]))
    villages = layers["villages"]
    h.update(np.round(shapely.get_coordinates(villages.geometry.to_numpy()), 9).tobytes())
    for col in ("code", "name", "population", "industries"):
        h.update(_text(villages[col]))
    return h.hexdigest()


def test_the_bulk_generator_gives_the_loop_generators_county():
    assert _digest(generate_demo_county(scale=0.3).layers) == LOOP_GENERATOR_DIGEST_X03


@pytest.mark.parametrize(("lo", "hi"), [(-0.15, 0.15), (0.06, 0.085), (0.6, 1.0), (-1.0, 1.0), (0.3, 0.5)])
def test_uniform_from_bulk_draws_equals_rng_uniform(lo, hi):
    # the contract the bulk generator rests on: numpy's uniform is lo + (hi - lo) * random()
    one_by_one = np.random.default_rng([7, 1])
    bulk = np.random.default_rng([7, 1])
    expected = np.array([one_by_one.uniform(lo, hi) for _ in range(50)])
    assert np.array_equal(D._uniform(bulk.random(50), lo, hi), expected)
    assert one_by_one.random() == bulk.random()  # and both streams go on alike


def test_advancing_the_stream_equals_drawing():
    drawn = np.random.default_rng([7, 2])
    drawn.random(1234)
    advanced = np.random.default_rng([7, 2])
    advanced.bit_generator.advance(1234)
    assert drawn.random() == advanced.random()


def test_clear_of_matches_the_full_distance_matrix():
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 10, (2000, 2))
    centres = rng.uniform(0, 10, (40, 2))
    clearance = np.where(np.arange(40) == 0, 2.2, 0.8)
    # a point exactly on a clearance circle is not clear (the rule is "farther than")
    pts[0] = centres[1] + [0.8, 0.0]
    d = np.sqrt(((pts[:, None, :] - centres[None, :, :]) ** 2).sum(-1))
    expected = (d > clearance[None, :]).all(axis=1)
    assert np.array_equal(D._clear_of(pts, centres, clearance), expected)
    assert not D._clear_of(pts, centres, clearance)[0]


def test_nearest_matches_the_full_distance_matrix_and_breaks_ties_low():
    rng = np.random.default_rng(4)
    pts = rng.uniform(0, 10, (3000, 2))
    centres = rng.uniform(0, 10, (60, 2))
    expected = np.argmin(((pts[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
    assert np.array_equal(D._nearest(pts, centres), expected)
    tie = np.array([[0.0, 0.0], [2.0, 0.0], [-2.0, 0.0]])
    assert D._nearest(np.array([[0.0, 0.0]]), tie[1:]).tolist() == [0]
