"""Detail and blur of one frame, measured so frames of one clip can be compared with each other.

The measure is the RMS of the Laplacian of luma (the "variance of the Laplacian" focus measure, as a level):
defocus and motion blur both take away the fine gradients it sees. It is taken over the whole frame and over a
grid of tiles; the clip's own best value per tile is the reference, so a tile that is soft in one frame only
(a moving subject blurred, a camera shake) shows even when the rest of the frame is sharp, and a soft or dark clip
is judged against itself. Video compression noise adds a floor to every frame alike.
"""

from __future__ import annotations

import cv2
import numpy as np

TILES = (6, 8)    # rows x columns of the tile grid (portrait frames: rows x columns swapped by the caller's shape)


# 8-bit luma -> log luma (scaled so mid-grey steps keep about their size): an exposure change is then an offset,
# which the Laplacian does not see -- on plain luma a frame one stop brighter would look 40 % "sharper".
_LOG_LUT = (np.log1p(np.arange(256, dtype=np.float32) / 16.0) * 64.0).astype(np.float32)


def laplacian_energy(gray: np.ndarray) -> np.ndarray:
    """Squared Laplacian of log luma (float32), after a tiny blur that keeps sensor/codec noise from dominating."""
    g = cv2.GaussianBlur(_LOG_LUT[gray], (3, 3), 0.6)
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1)
    return lap * lap


def tile_levels(energy: np.ndarray, tiles: tuple[int, int] = TILES) -> np.ndarray:
    """RMS Laplacian per tile (rows x columns; the longer image side gets the larger count)."""
    h, w = energy.shape
    rows, cols = (max(tiles), min(tiles)) if h > w else (min(tiles), max(tiles))
    th, tw = h // rows, w // cols
    # an area resize by whole tiles is the per-tile mean (several times faster than numpy's reshape + mean)
    means = cv2.resize(energy[:th * rows, :tw * cols], (cols, rows), interpolation=cv2.INTER_AREA)
    return np.sqrt(np.maximum(means, 0.0)).astype(np.float64)


def region_level(energy: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """RMS Laplacian inside ``box`` = (x0, y0, x1, y1) (clipped to the image); NaN when the box is empty."""
    h, w = energy.shape
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x1 - x0 < 4 or y1 - y0 < 4:
        return float("nan")
    return float(np.sqrt(energy[y0:y1, x0:x1].mean()))


def relative_sharpness(tile_levels_per_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From ``N x R x C`` tile levels: per frame, (whole-frame ratio to the clip's sharpest frame, texture-weighted
    mean of the tile ratios to each tile's sharpest frame). Both 0..1.

    Tiles are weighted by their best level: flat tiles (sky, walls) only carry noise and say nothing of blur."""
    levels = np.asarray(tile_levels_per_frame, np.float64)
    n = levels.shape[0]
    flat = levels.reshape(n, -1)
    whole = np.sqrt(np.mean(flat ** 2, axis=1))
    whole_ratio = whole / max(float(whole.max()), 1e-9)
    best = flat.max(axis=0)
    ratios = flat / np.maximum(best, 1e-9)
    weight = best / max(float(best.sum()), 1e-9)
    tile_ratio = ratios @ weight
    return np.clip(whole_ratio, 0, 1), np.clip(tile_ratio, 0, 1)
