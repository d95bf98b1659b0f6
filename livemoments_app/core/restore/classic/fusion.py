"""Laplacian-pyramid fusion: coarse scales from the frame, fine scales from the warped still where it is trusted.

Blending per scale with a per-scale (Gaussian-pyramid) weight hides seams: a confidence edge becomes a soft
transition whose width grows with the scale of the detail being blended (Burt & Adelson 1983).
"""

from __future__ import annotations

import cv2
import numpy as np


def _gaussian_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    pyr = [img]
    for _ in range(levels):
        pyr.append(cv2.pyrDown(pyr[-1], borderType=cv2.BORDER_REFLECT101))
    return pyr


_KERNEL = np.ones((5, 5), np.uint8)


def _weight_pyramid(weight: np.ndarray, levels: int) -> list[np.ndarray]:
    """Gaussian pyramid of the weight, eroded by the kernel's reach before every reduction: a coarse band then
    blends only where all of its support was trusted, so distrusted regions (an object the still does not show)
    get no coarse-scale bleed of the still (a low-frequency ghost), while transitions stay smooth."""
    pyr = [weight.astype(np.float32)]
    for _ in range(levels):
        pyr.append(cv2.pyrDown(cv2.erode(pyr[-1], _KERNEL, borderType=cv2.BORDER_REPLICATE),
                               borderType=cv2.BORDER_REFLECT101))
    return pyr


def _up(img: np.ndarray, like: np.ndarray) -> np.ndarray:
    return cv2.pyrUp(img, dstsize=(like.shape[1], like.shape[0]), borderType=cv2.BORDER_REFLECT101)


def fuse(base: np.ndarray, detail: np.ndarray, weight: np.ndarray, levels: int) -> np.ndarray:
    """Float32 H x W x C images ``base`` (the frame, upscaled) and ``detail`` (the warped still) and an H x W
    weight in [0, 1] -> the fused image. Bands finer than ``levels`` octaves mix by the weight at their scale;
    the coarsest residual (light, colour, what changed) always comes from ``base``.

    Laplacian bands are linear, so mixing the bands of both images equals adding the weighted bands of their
    difference to ``base``: one pyramid instead of two. ``base`` and ``detail`` are used as work buffers."""
    diff = np.subtract(detail, base, out=detail)     # the caller's detail buffer is not needed afterwards
    if levels <= 0:
        w = weight[..., None] if base.ndim == 3 else weight
        diff *= w
        return np.add(base, diff, out=base)
    gd = _gaussian_pyramid(diff, levels)
    gw = _weight_pyramid(weight, levels)
    # bands fine to coarse, in place (each needs the next Gaussian level intact), then summed coarse to fine
    for lv in range(levels):
        np.subtract(gd[lv], _up(gd[lv + 1], gd[lv]), out=gd[lv])
        gd[lv] *= gw[lv][..., None] if base.ndim == 3 else gw[lv]
    acc = None
    for lv in range(levels - 1, -1, -1):
        band = gd[lv]
        if acc is None:
            acc = band
        else:
            acc = _up(acc, band)
            acc += band
    return np.add(base, acc, out=base)


def pyramid_margin(levels: int) -> int:
    """Pixels of context a tile needs on each side so its interior matches a whole-image fusion to within one
    8-bit level: the 5-tap kernels of pyrDown/pyrUp (and the weight erosion) reach ~2 pixels per level at that
    level's scale, and their far taps carry little weight (tests compare tiny tiles with one whole tile)."""
    return 4 * (2 ** levels) if levels > 0 else 0
