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


def fill_untrusted(values: np.ndarray, weight: np.ndarray, levels: int) -> np.ndarray:
    """``values`` (H x W x C float32) where ``weight`` trusts them, continued smoothly into where it does not
    (push-pull: weighted averages over ever coarser neighbourhoods, Gortler et al. 1996). Where the weight is
    zero everywhere within reach of ``levels`` octaves the result tends to zero.

    The result is meant for the distrusted pixels only (the trusted ones keep their own values), where it is
    smooth: it is built from half resolution up, which costs a quarter of building it at full resolution."""
    w = weight.astype(np.float32)
    num = [cv2.pyrDown(values * w[..., None], borderType=cv2.BORDER_REFLECT101)]
    den = [cv2.pyrDown(w, borderType=cv2.BORDER_REFLECT101)]
    for _ in range(max(levels - 1, 0)):
        num.append(cv2.pyrDown(num[-1], borderType=cv2.BORDER_REFLECT101))
        den.append(cv2.pyrDown(den[-1], borderType=cv2.BORDER_REFLECT101))
    est = None
    for n, d in zip(reversed(num), reversed(den)):
        own = n / np.maximum(d, 1e-6)[..., None]
        if est is None:
            est = own * (d > 1e-6)[..., None]
        else:
            a = np.clip(d * 4.0, 0.0, 1.0)[..., None]     # a quarter of a trusted neighbourhood is enough
            up = _up(est, own)
            own -= up
            own *= a
            est = np.add(up, own, out=own)
    return _up(est, values).astype(np.float32, copy=False)


def continue_difference(detail: np.ndarray, base: np.ndarray, weight: np.ndarray, fill: np.ndarray) -> None:
    """``detail`` <- ``base + fill + w * (detail - base - fill)`` in place, ``w = min(1, 4 * weight)``: where the
    weight is (almost) zero the still's difference to the frame is the one continued from trusted pixels
    (:func:`fill_untrusted`), so the bands :func:`fuse` takes of the difference carry nothing of what the still
    does not show. Without it, an object the still does not show leaks into the coarse bands of the trusted
    pixels around it: their low frequencies become ``still + blur(frame - still)`` with the object inside the
    blur, a soft halo of its colour as wide as the coarsest band (~30 output pixels at 12 MP)."""
    own = np.clip(weight * 4.0, 0.0, 1.0)
    detail -= base
    detail -= fill
    detail *= own[..., None] if detail.ndim == 3 else own
    detail += fill
    detail += base


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
