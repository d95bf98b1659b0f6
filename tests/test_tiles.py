"""Tiling helpers against the fixture's recorded tiling example (section 6 of its README)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from livemoments_app.core.align import tiles


@pytest.fixture
def tiling(fixture_dir):
    from safetensors.numpy import load_file

    meta = json.loads((fixture_dir / "tiling.json").read_text())
    tensors = {k: v.astype(np.float32) for k, v in load_file(fixture_dir / "tiling.safetensors").items()}
    return meta, tensors


def _hwc(t: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(t[0].transpose(1, 2, 0))


def test_padding_matches_release(tiling):
    meta, t = tiling
    tile, overlap = meta["tile_size"], meta["tile_overlap"]
    h, w = meta["full_size_hw"]
    image = _hwc(t["image_padded"])[:h, :w]
    flow = _hwc(t["flow_padded"])[:h, :w]
    padded, size = tiles.pad_image_to_fit(image, tile, overlap)
    assert size == tuple(meta["orig_size_returned"])
    assert padded.shape[:2] == tuple(meta["padded_size_hw"])
    assert np.array_equal(padded, _hwc(t["image_padded"]))
    fpadded, _ = tiles.pad_image_to_fit(flow, tile, overlap, mode="constant")
    assert np.array_equal(fpadded, _hwc(t["flow_padded"]))
    assert tiles.pad_amount(h, tile, overlap) == meta["pad_bottom"]
    assert tiles.pad_amount(w, tile, overlap) == meta["pad_right"]


def test_split_and_reference_coordinates_are_exact(tiling):
    meta, t = tiling
    tile, overlap = meta["tile_size"], meta["tile_overlap"]
    padded = _hwc(t["image_padded"])
    cut, origins = tiles.split_into_tiles(padded, tile, overlap)
    assert [list(o) for o in origins] == meta["split_indices"]
    assert all(c.shape == (tile, tile, 3) for c in cut)
    flow = _hwc(t["flow_padded"])
    assert [list(c) for c in tiles.ref_patch_coords(flow, tile, overlap)] == meta["ref_patch_coords"]
    for origin, (dx, dy) in zip(origins, meta["ref_patch_window_mean_flow_dx_dy"]):
        mdx, mdy = tiles.window_mean_flow(flow, origin, tile)
        assert mdx == pytest.approx(dx, abs=1e-5) and mdy == pytest.approx(dy, abs=1e-5)


def test_c2_weight_is_bit_exact(tiling):
    meta, t = tiling
    assert np.array_equal(tiles.c2_weight(meta["tile_size"]), t["c2_weight"][0, 0])


def test_stitching_released_behaviour_and_border_fix(tiling):
    meta, t = tiling
    tile = meta["tile_size"]
    tile_list = [_hwc(x) for x in t["stitch_tiles"]]
    origins = [tuple(o) for o in meta["split_indices"]]
    size = tuple(meta["full_size_hw"])
    weight = tiles.c2_weight(tile)
    expected = _hwc(t["stitched"])

    released = tiles.stitch_tiles(tile_list, origins, tile, size, weight, fix_borders=False)
    assert np.array_equal(released, expected)

    fixed = tiles.stitch_tiles(tile_list, origins, tile, size, weight)
    rows, cols = meta["stitched_all_zero_rows"], meta["stitched_all_zero_cols"]
    interior = np.ones(size, bool)
    interior[rows, :] = False
    interior[:, cols] = False
    assert np.array_equal(fixed[interior], expected[interior])
    # the border rows/columns now carry the tiles' own values instead of 0
    assert np.abs(fixed[rows[0]]).mean() > 0.1
    stride = tile - meta["tile_overlap"]
    n = min(stride, size[1])
    assert np.array_equal(fixed[0, :n], tile_list[0][0, :n])  # covered by tile 0 alone
    # top-left corner pixel lies on one tile only
    assert np.array_equal(fixed[0, 0], tile_list[0][0, 0])


def test_border_fix_averages_tiles_sharing_a_border_pixel():
    # two tiles overlapping by 4 px on one row: column 0 is border-only, must be tile 0's value
    tile, overlap = 8, 4
    ones = np.ones((8, 8, 3), np.float32)
    out = tiles.stitch_tiles([ones * 0.25, ones * 0.75], [(0, 0), (0, 4)], tile, (8, 12), tiles.c2_weight(tile))
    assert np.allclose(out[:, 0], 0.25)
    assert np.allclose(out[:, 11], 0.75)
    assert np.allclose(out[0, :], np.clip(out[0, :], 0.25, 0.75))
    assert (out > 0.2).all()


def test_small_image_and_no_padding_cases():
    img = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    padded, size = tiles.pad_image_to_fit(img, 16, 4)
    assert size == (20, 30)
    assert (padded.shape[0] - 4) % 12 == 0 and (padded.shape[1] - 4) % 12 == 0
    cut, origins = tiles.split_into_tiles(padded, 16, 4)
    out = tiles.stitch_tiles([c for c in cut], origins, 16, size, tiles.c2_weight(16))
    assert np.allclose(out, img, atol=1e-6)  # identical overlapping tiles stitch back to the image
    # reflect padding larger than the image still works (numpy keeps reflecting)
    tiny = img[:5, :5]
    p, _ = tiles.pad_image_to_fit(tiny, 16, 4)
    assert p.shape[:2] == (16, 16)
    with pytest.raises(ValueError):
        tiles.pad_amount(10, 8, 8)
