"""How far the alignment can be trusted, pixel by pixel.

Two independent checks, each turned into a factor in [0, 1] that is 0.5 exactly at its tolerance:

* forward-backward consistency: following the flow forward and the backward flow back should return to the start;
  the round-trip error ``e`` (clip pixels) gives ``2 ** -(e / fb_tolerance) ** 2``;
* photometric agreement: the still, warped into the frame and colour-matched to it, should look like the frame;
  the colour distance ``d`` of lightly blurred images (0..1 units) gives ``2 ** -(d / photo_tolerance) ** 2``.

The confidence is their product, zero outside the still's field of view. A pixel counts as *aligned* when its
confidence is >= 0.5, i.e. when ``(e / fb_tol)^2 + (d / photo_tol)^2 <= 1``; the aligned share is the fraction of
frame pixels that are.
"""

from __future__ import annotations

import cv2
import numpy as np

from livemoments_app.core.align.pixels import to_float01
from livemoments_app.core.align.warp import grid, sample_field


def forward_backward_error(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """``|F(p) + B(p + F(p))|`` for every pixel of the forward field's grid (float32, pixels)."""
    h, w = forward.shape[:2]
    gx, gy = grid((h, w))
    b = sample_field(backward, gx + forward[..., 0], gy + forward[..., 1])
    return np.hypot(forward[..., 0] + b[..., 0], forward[..., 1] + b[..., 1]).astype(np.float32)


def inside(field: np.ndarray | None, shape: tuple[int, int], margin: float = 0.0) -> np.ndarray:
    """True where ``p + field(p)`` lands inside an image of ``shape``."""
    h, w = shape[:2]
    if field is None:
        return np.ones((h, w), bool)
    gx, gy = grid(field.shape[:2])
    x = gx + field[..., 0]
    y = gy + field[..., 1]
    return (x >= -0.5 + margin) & (x <= w - 0.5 - margin) & (y >= -0.5 + margin) & (y <= h - 0.5 - margin)


def colour_match(src: np.ndarray, ref: np.ndarray, mask: np.ndarray | None = None,
                 max_samples: int = 20_000) -> np.ndarray:
    """``src`` after a per-channel affine map fitted to ``ref`` on ``mask``: uint8 in, uint8 out (through a
    lookup table); anything else in, float32 RGB 0..1 out.

    The still and the clip differ by tone curve and white balance, not by content; the fit uses 4x
    area-downscaled images (the mapping is global; averaging removes noise and small shifts) and is refitted once
    without the worst 20 % of pixels so moving objects do not bias it."""
    h, w = src.shape[:2]
    size = (max(1, w // 4), max(1, h // 4))
    sb = to_float01(cv2.resize(np.asarray(src), size, interpolation=cv2.INTER_AREA))
    rb = to_float01(cv2.resize(np.asarray(ref), size, interpolation=cv2.INTER_AREA))
    m = np.ones((h, w), np.uint8) if mask is None else mask.astype(np.uint8)
    m = cv2.resize(m * 255, size, interpolation=cv2.INTER_AREA) >= 255
    idx = np.flatnonzero(m.ravel())
    channels = sb.shape[2]
    gains = np.ones(channels, np.float32)
    offsets = np.zeros(channels, np.float32)
    if idx.size >= 50:
        if idx.size > max_samples:
            idx = idx[:: idx.size // max_samples + 1]
        for c in range(channels):
            x = sb[..., c].ravel()[idx]
            y = rb[..., c].ravel()[idx]
            keep = np.ones(x.size, bool)
            a, b = 1.0, 0.0
            for _ in range(2):
                xs, ys = x[keep], y[keep]
                vx = float(np.var(xs))
                a = float(np.cov(xs, ys, bias=True)[0, 1] / vx) if vx > 1e-8 else 1.0
                a = min(max(a, 0.2), 5.0)
                b = float(np.mean(ys) - a * np.mean(xs))
                res = np.abs(a * x + b - y)
                keep = res <= np.quantile(res, 0.8)
            gains[c], offsets[c] = a, b
    if src.dtype == np.uint8:
        levels = np.arange(256, dtype=np.float32)[:, None] / 255.0
        lut = np.clip((levels * gains + offsets) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return cv2.LUT(np.ascontiguousarray(src), lut.reshape(256, 1, channels))
    out = to_float01(src) * gains + offsets
    return np.clip(out, 0.0, 1.0, out=out)


def photometric_distance(a: np.ndarray, b: np.ndarray, blur_sigma: float = 1.5) -> np.ndarray:
    """RMS-over-channels distance of two float RGB images after a light blur (compression noise, resampling)."""
    d = to_float01(a) - to_float01(b)
    d = cv2.GaussianBlur(d, (0, 0), blur_sigma)  # blur(a) - blur(b), blurred once
    return np.sqrt(np.mean(d * d, axis=2)).astype(np.float32)


def _luma01(image: np.ndarray) -> np.ndarray:
    return to_float01(image)[..., :3] @ np.float32([0.299, 0.587, 0.114])


def matching_blur(sharp: np.ndarray, soft: np.ndarray, mask: np.ndarray,
                  candidates: tuple[float, ...] = (0.0, 0.5, 0.8, 1.1, 1.5, 2.0, 2.8),
                  max_side: int = 768) -> float:
    """The Gaussian blur (pixels) that makes ``sharp`` look most like ``soft`` where ``mask`` holds (the least
    mean absolute luma difference): how much softer a video frame is than the still warped onto it (optics,
    the denoiser, compression). Measured on the central ``max_side`` square (the blur is the same everywhere);
    0 when the mask holds too few pixels there to tell."""
    h, w = mask.shape[:2]
    y0, x0 = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
    crop = (slice(y0, y0 + max_side), slice(x0, x0 + max_side))
    m = np.asarray(mask, bool)[crop]
    if np.count_nonzero(m) < 500:
        return 0.0
    a, b = _luma01(sharp[crop]), _luma01(soft[crop])
    errors = [float(np.mean(np.abs((cv2.GaussianBlur(a, (0, 0), s) if s > 0 else a) - b)[m]))
              for s in candidates]
    return float(candidates[int(np.argmin(errors))])


def structure_distance(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, band_sigma: float = 2.0,
                       window_sigma: float = 2.0, with_snr: bool = False
                       ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """How differently two images of the same size are structured, pixel by pixel, at the finest scales (the
    luma band above ``band_sigma``): ``|A - B|^2 / (|A|^2 + |B|^2 + floor)`` over a Gaussian window, with A and B
    the bands. ~0 where both show the same detail (or none: the floor keeps flat areas at 0), ~1 where the detail
    differs or only one image has any (text that moved, a limb that is not there any more), up to 2 where it is
    reversed. It fades far less than a colour distance where the images are dark or low in contrast.
    The floor is four times the median band difference where ``mask`` holds (noise and compression of the pair
    at hand; at least 1.5 levels in 8 bits). ``with_snr`` also returns the windowed band energy of both images
    in floors (>= 1): how far above the noise the comparison speaks."""
    la, lb = _luma01(a), _luma01(b)
    la -= cv2.GaussianBlur(la, (0, 0), band_sigma)
    lb -= cv2.GaussianBlur(lb, (0, 0), band_sigma)
    diff = np.square(la - lb)
    floor = (1.5 / 255.0) ** 2
    if mask is not None and np.count_nonzero(mask) >= 500:
        sample = diff[np.asarray(mask, bool)]
        floor = max(floor, 4.0 * float(np.median(sample[::max(1, sample.size // 200_000)])))
    energy = cv2.GaussianBlur(np.square(la) + np.square(lb), (0, 0), window_sigma)
    energy += np.float32(floor)
    distance = (cv2.GaussianBlur(diff, (0, 0), window_sigma) / energy).astype(np.float32)
    if with_snr:
        energy *= np.float32(1.0 / floor)
        return distance, energy
    return distance


def brightness_ratio(a: np.ndarray, b: np.ndarray, blur_sigma: float = 1.5, floor: float = 0.03) -> np.ndarray:
    """How many times brighter the lighter of two images is than the darker, pixel by pixel (>= 1): the ratio of
    their lightly blurred luma, each raised by ``floor`` (0..1 units; below it noise and compression speak).
    Unlike a colour distance it is as strict in the shadows as in the light: black where the other image shows
    a dark grey of 25 levels is a ratio of ~4, the same 25 levels between two mid-greys ~1.2."""
    la = cv2.GaussianBlur(_luma01(a), (0, 0), blur_sigma) if blur_sigma > 0 else _luma01(a)
    lb = cv2.GaussianBlur(_luma01(b), (0, 0), blur_sigma) if blur_sigma > 0 else _luma01(b)
    la += np.float32(floor)
    lb += np.float32(floor)
    ratio = np.maximum(la, lb)
    ratio /= np.minimum(la, lb)
    return ratio


def tolerance_factor(error: np.ndarray, tolerance: float) -> np.ndarray:
    """``2 ** -(error / tolerance) ** 2``: 1 at zero error, 0.5 at the tolerance, ~0 beyond twice it."""
    t = np.square(error / np.float32(tolerance))
    return np.exp2(-t).astype(np.float32)


def confidence_map(fb_error: np.ndarray | None, photo_distance: np.ndarray | None, valid: np.ndarray,
                   fb_tolerance: float = 1.0, photo_tolerance: float = 0.1) -> np.ndarray:
    """Per-pixel confidence in [0, 1] (see the module docstring)."""
    conf = valid.astype(np.float32)
    if fb_error is not None:
        conf *= tolerance_factor(fb_error, fb_tolerance)
    if photo_distance is not None:
        conf *= tolerance_factor(photo_distance, photo_tolerance)
    return conf


def aligned_share(confidence: np.ndarray) -> float:
    """Fraction of pixels whose confidence is at least 0.5."""
    return float(np.count_nonzero(confidence >= 0.5)) / float(confidence.size)
