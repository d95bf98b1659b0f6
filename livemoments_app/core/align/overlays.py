"""RGB overlays that show how the key photo fits the chosen frame (for the preview and the CLI).

Every function returns an ``H x W x 3`` uint8 RGB image the size of its inputs. ``warped`` is the still mapped into
the frame's geometry (``Alignment.warp_still(still, scale=1.0)``); ``valid`` marks where the still covers the frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from livemoments_app.core.align.pixels import to_rgb_u8

if TYPE_CHECKING:
    from livemoments_app.core.align.alignment import Alignment

MODES = ("blend", "difference", "checkerboard", "edges", "flow", "confidence")


def _check(frame: np.ndarray, warped: np.ndarray) -> None:
    if frame.shape[:2] != warped.shape[:2]:
        raise ValueError(f"overlay inputs differ in size: {frame.shape[:2]} vs {warped.shape[:2]}")


def _outside(image: np.ndarray, frame: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """Where the still does not reach, show the frame darkened so the field-of-view edge is visible."""
    if valid is None:
        return image
    out = image.copy()
    out[~valid] = (frame[~valid].astype(np.uint16) * 2 // 5).astype(np.uint8)
    return out


def blend(frame: np.ndarray, warped: np.ndarray, opacity: float = 0.5, valid: np.ndarray | None = None
          ) -> np.ndarray:
    """The warped still over the frame with ``opacity`` in [0, 1] (0: frame only, 1: still only)."""
    f, w = to_rgb_u8(frame), to_rgb_u8(warped)
    _check(f, w)
    a = float(min(max(opacity, 0.0), 1.0))
    return _outside(cv2.addWeighted(w, a, f, 1.0 - a, 0.0), f, valid)


def difference(frame: np.ndarray, warped: np.ndarray, gain: float = 2.0, valid: np.ndarray | None = None
               ) -> np.ndarray:
    """Absolute difference ``|frame - warped|`` per channel, amplified by ``gain`` (black = identical)."""
    f, w = to_rgb_u8(frame), to_rgb_u8(warped)
    _check(f, w)
    d = cv2.absdiff(f, w).astype(np.float32) * gain
    out = np.clip(d, 0, 255).astype(np.uint8)
    if valid is not None:
        out[~valid] = 0
    return out


def checkerboard(frame: np.ndarray, warped: np.ndarray, tile: int = 64, valid: np.ndarray | None = None
                 ) -> np.ndarray:
    """Alternating tiles of the frame and the warped still: misalignment shows as broken lines at tile edges."""
    f, w = to_rgb_u8(frame), to_rgb_u8(warped)
    _check(f, w)
    h, wd = f.shape[:2]
    yy, xx = np.mgrid[0:h, 0:wd]
    use_still = ((yy // tile + xx // tile) % 2).astype(bool)
    if valid is not None:
        use_still &= valid
    out = f.copy()
    out[use_still] = w[use_still]
    return out


def _edges(image: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    g = cv2.GaussianBlur(g, (0, 0), 1.2)
    v = float(np.median(g))
    return cv2.Canny(g, max(10.0, 0.66 * v), max(30.0, 1.33 * v)) > 0


def edges(frame: np.ndarray, warped: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Edges of the frame in magenta and of the warped still in green over a dimmed grey frame; where they
    coincide they add up to white, so aligned structure looks white and misalignment shows doubled colours."""
    f, w = to_rgb_u8(frame), to_rgb_u8(warped)
    _check(f, w)
    grey = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) // 3
    out = np.repeat(grey[..., None], 3, axis=2)
    ef = _edges(f)
    ew = _edges(w)
    if valid is not None:
        ew &= valid
    out[ef] = out[ef] | np.array([255, 0, 255], np.uint8)
    out[ew] = out[ew] | np.array([0, 255, 0], np.uint8)
    return out


def _colour_wheel() -> np.ndarray:
    """The Middlebury flow colour wheel (Baker et al., 2011): 55 hues, red-yellow-green-cyan-blue-magenta."""
    ry, yg, gc, cb, bm, mr = 15, 6, 4, 11, 13, 6
    wheel = np.zeros((ry + yg + gc + cb + bm + mr, 3), np.float64)
    i = 0
    wheel[i:i + ry, 0] = 255
    wheel[i:i + ry, 1] = np.floor(255 * np.arange(ry) / ry)
    i += ry
    wheel[i:i + yg, 0] = 255 - np.floor(255 * np.arange(yg) / yg)
    wheel[i:i + yg, 1] = 255
    i += yg
    wheel[i:i + gc, 1] = 255
    wheel[i:i + gc, 2] = np.floor(255 * np.arange(gc) / gc)
    i += gc
    wheel[i:i + cb, 1] = 255 - np.floor(255 * np.arange(cb) / cb)
    wheel[i:i + cb, 2] = 255
    i += cb
    wheel[i:i + bm, 2] = 255
    wheel[i:i + bm, 0] = np.floor(255 * np.arange(bm) / bm)
    i += bm
    wheel[i:i + mr, 2] = 255 - np.floor(255 * np.arange(mr) / mr)
    wheel[i:i + mr, 0] = 255
    return wheel


_WHEEL = _colour_wheel()


def flow_colour(flow: np.ndarray | None, max_magnitude: float | None = None, shape: tuple[int, int] | None = None
                ) -> np.ndarray:
    """Middlebury colour coding of a flow field: hue = direction, saturation = magnitude relative to
    ``max_magnitude`` (default: the field's largest magnitude); zero motion is white."""
    if flow is None:
        if shape is None:
            raise ValueError("flow_colour needs a shape when there is no flow")
        return np.full((*shape[:2], 3), 255, np.uint8)
    u = flow[..., 0].astype(np.float64)
    v = flow[..., 1].astype(np.float64)
    bad = ~np.isfinite(u) | ~np.isfinite(v)
    u[bad] = 0.0
    v[bad] = 0.0
    mag = np.hypot(u, v)
    m = float(max_magnitude) if max_magnitude else float(mag.max())
    m = max(m, 1e-6)
    u, v, mag = u / m, v / m, np.minimum(mag / m, 1.0)
    n = _WHEEL.shape[0]
    a = np.arctan2(-v, -u) / np.pi              # in [-1, 1]
    fk = (a + 1.0) / 2.0 * (n - 1)
    k0 = np.floor(fk).astype(np.int32)
    k1 = (k0 + 1) % n
    f = (fk - k0)[..., None]
    col = ((1 - f) * _WHEEL[k0] + f * _WHEEL[k1]) / 255.0
    col = 1.0 - mag[..., None] * (1.0 - col)     # saturation grows with magnitude
    out = np.clip(col * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out[bad] = 0
    return out


def confidence_heatmap(confidence: np.ndarray, frame: np.ndarray | None = None, alpha: float = 0.6
                       ) -> np.ndarray:
    """Confidence as colour (red 0 -> yellow 0.5 -> green 1), over a grey version of ``frame`` if given."""
    c = np.clip(confidence.astype(np.float32), 0.0, 1.0)
    r = np.clip(2.0 - 2.0 * c, 0.0, 1.0)
    g = np.clip(2.0 * c, 0.0, 1.0)
    heat = np.stack([r, g, np.zeros_like(c)], axis=2) * 255.0
    if frame is None:
        return heat.astype(np.uint8)
    grey = cv2.cvtColor(to_rgb_u8(frame), cv2.COLOR_RGB2GRAY).astype(np.float32)[..., None]
    out = alpha * heat + (1.0 - alpha) * grey
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def render(mode: str, alignment: "Alignment", still: np.ndarray, frame: np.ndarray, *, opacity: float = 0.5,
           tile: int = 64, warped: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The overlay ``mode`` (one of :data:`MODES`) for ``alignment`` at clip resolution. ``warped``: the
    ``(warped, valid)`` of ``alignment.warp_still(still, scale=1.0)`` when the caller already has it."""
    if mode not in MODES:
        raise ValueError(f"unknown overlay {mode!r} (choose from {', '.join(MODES)})")
    if mode == "flow":
        return flow_colour(alignment.total_flow, shape=alignment.frame_shape)
    if mode == "confidence":
        return confidence_heatmap(alignment.confidence, frame)
    warped, valid = warped if warped is not None else alignment.warp_still(still, scale=1.0)
    if mode == "blend":
        return blend(frame, warped, opacity, valid)
    if mode == "difference":
        # tone curve and white balance differ between still and video; compare content, not grading
        from livemoments_app.core.align.confidence import colour_match

        matched = colour_match(warped, frame, valid & (alignment.confidence >= 0.5))
        return difference(frame, matched, valid=valid)
    if mode == "checkerboard":
        return checkerboard(frame, warped, tile, valid)
    return edges(frame, warped, valid)
