"""Tiling for the diffusion restorer: padding, tile grid, reference-tile retrieval (PCR) and C² blending.

These reproduce the tiling helpers of the official LiveMoments inference code (``pad_image_to_fit``,
``split_into_tiles``, ``compute_ref_patch_coords_from_LR``, ``generate_c2_weight``, ``stitch_tiles_back``)
index for index, on channels-last numpy arrays (H x W x C), so they need no torch.

One deliberate deviation, in :func:`stitch_tiles`: the released C² weight is exactly zero on the first and
last row and column of every tile, so a pixel that only ever lies on a tile border (the first row and column
of every image, and the last ones when no padding was needed) gets a weight sum of 0 and the released code
writes 0 there (mid-grey once denormalised). We give such pixels the plain mean of the tiles that cover them
instead. Every pixel with a positive weight sum is computed exactly as the release does (same float32
operations in the same order), so interior numerics are unchanged. Pass ``fix_borders=False`` to get the
released behaviour.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Origin = tuple[int, int]


def pad_amount(size: int, tile: int, overlap: int) -> int:
    """Rows (or columns) added at the bottom (right) so the tile grid covers ``size`` exactly."""
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f"tile overlap {overlap} must be smaller than the tile size {tile}")
    return (stride - (size - overlap) % stride) % stride


def pad_image_to_fit(image: np.ndarray, tile: int, overlap: int,
                     mode: str = "reflect") -> tuple[np.ndarray, tuple[int, int]]:
    """Pads an H x W (x C) array at the bottom and right so that tiles of ``tile`` px with ``overlap`` fit.

    ``mode`` is "reflect" (images; mirror without repeating the edge, like torch's reflect) or "constant"
    (zeros; used for flow fields). Returns the padded array and the original (H, W).
    """
    h, w = image.shape[:2]
    ph, pw = pad_amount(h, tile, overlap), pad_amount(w, tile, overlap)
    pads = [(0, ph), (0, pw)] + [(0, 0)] * (image.ndim - 2)
    if mode == "reflect":
        # numpy keeps reflecting when the pad exceeds the size (torch refuses); identical otherwise.
        padded = np.pad(image, pads, mode="reflect") if (ph or pw) else image.copy()
    elif mode == "constant":
        padded = np.pad(image, pads, mode="constant")
    else:
        raise ValueError(f"unknown padding mode {mode!r}")
    return padded, (h, w)


def tile_origins(height: int, width: int, tile: int, overlap: int) -> list[Origin]:
    """Top-left corners (row, column) of the tiles of a padded canvas, row-major."""
    stride = tile - overlap
    return [(i, j) for i in range(0, height - overlap, stride) for j in range(0, width - overlap, stride)]


def split_into_tiles(image: np.ndarray, tile: int, overlap: int) -> tuple[list[np.ndarray], list[Origin]]:
    """Cuts a padded H x W (x C) array into tiles; returns (views of the tiles, their origins)."""
    origins = tile_origins(image.shape[0], image.shape[1], tile, overlap)
    return [image[i:i + tile, j:j + tile] for i, j in origins], origins


def window_mean_flow(flow_padded: np.ndarray, origin: Origin, tile: int) -> tuple[float, float]:
    """Mean (dx, dy) of the flow over the tile window at ``origin`` (float64 accumulation)."""
    i, j = origin
    window = flow_padded[i:i + tile, j:j + tile]
    return float(window[..., 0].mean(dtype=np.float64)), float(window[..., 1].mean(dtype=np.float64))


def ref_patch_coords(flow_padded: np.ndarray, tile: int, overlap: int) -> list[Origin]:
    """Patch Correspondence Retrieval: where to cut the reference tile for each LQ tile.

    ``flow_padded`` (Hp x Wp x 2, pixels, x then y) maps the LQ frame onto the reference (low-resolution
    reference), zero-padded like the tiles. Each window's centre is moved by its mean flow; the corner is
    ``trunc(centre - tile // 2)`` clamped into the canvas, as in the release.
    """
    hp, wp = flow_padded.shape[:2]
    coords = []
    for i, j in tile_origins(hp, wp, tile, overlap):
        dx, dy = window_mean_flow(flow_padded, (i, j), tile)
        x = math.trunc(j + tile // 2 + dx - tile // 2)
        y = math.trunc(i + tile // 2 + dy - tile // 2)
        coords.append((max(0, min(y, hp - tile)), max(0, min(x, wp - tile))))
    return coords


def _torch_linspace_m1_1(n: int) -> np.ndarray:
    """float32 linspace(-1, 1, n) bit-identical to torch's CPU kernel (fused multiply-add from both ends)."""
    if n == 1:
        return np.array([-1.0], dtype=np.float32)
    step = float(np.float32(np.float32(2.0) / np.float32(n - 1)))
    idx = np.arange(n, dtype=np.float64)
    return np.where(idx < n // 2, -1.0 + idx * step, 1.0 - (n - 1 - idx) * step).astype(np.float32)


def c2_weight(tile: int) -> np.ndarray:
    """The C² blending weight (1 - x²)(1 - y²) over a tile, x, y in [-1, 1]; float32 tile x tile."""
    a = _torch_linspace_m1_1(tile)
    one = np.float32(1.0)
    return np.maximum((one - a[None, :] ** 2) * (one - a[:, None] ** 2), np.float32(0.0)).astype(np.float32)


def stitch_tiles(tiles: Sequence[np.ndarray], origins: Sequence[Origin], tile: int,
                 orig_size: tuple[int, int] | None = None, weight: np.ndarray | None = None,
                 fix_borders: bool = True) -> np.ndarray:
    """Blends tiles (each h x w x C, float) placed at ``origins`` into one float32 image.

    Pixels with a positive weight sum get sum(tile * w) / (sum(w) + 1e-8) exactly as the release computes
    it. With ``fix_borders`` a pixel whose weight sum is zero gets the plain mean of the tiles covering it
    instead of the release's 0 (see the module docstring).
    """
    if not tiles:
        raise ValueError("no tiles to stitch")
    channels = tiles[0].shape[2]
    h_max = max(i for i, _ in origins) + tile
    w_max = max(j for _, j in origins) + tile
    acc = np.zeros((h_max, w_max, channels), np.float32)
    wsum = np.zeros((h_max, w_max, 1), np.float32)
    plain = np.zeros_like(acc) if fix_borders else None
    count = np.zeros_like(wsum) if fix_borders else None
    for t, (i, j) in zip(tiles, origins):
        h, w = t.shape[:2]
        t = t.astype(np.float32, copy=False)
        mask = (weight[:h, :w, None] if weight is not None else np.ones((h, w, 1), np.float32))
        acc[i:i + h, j:j + w] += t * mask
        wsum[i:i + h, j:j + w] += mask
        if fix_borders:
            plain[i:i + h, j:j + w] += t
            count[i:i + h, j:j + w] += 1.0
    empty = wsum == 0
    wsum[empty] = 1.0
    result = acc / (wsum + np.float32(1e-8))
    if fix_borders:
        fallback = empty[..., 0] & (count[..., 0] > 0)
        result[fallback] = plain[fallback] / count[fallback]
    if orig_size is not None:
        result = result[:orig_size[0], :orig_size[1]]
    return result
