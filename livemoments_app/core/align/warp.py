"""Coordinate maps between the full-resolution still and a clip frame, at any output scale.

Conventions used throughout ``core/align``:

* Pixel centres sit at integer coordinates (OpenCV's ``remap``/``warpPerspective`` convention): pixel ``(row i,
  col j)`` is the point ``(x=j, y=i)``.
* Changing resolution by a factor ``s`` maps ``x -> (x + 0.5) * s - 0.5`` (the half-pixel-centre convention of
  ``cv2.resize``); :func:`resize_matrix` is that map as a 3x3 matrix.
* ``still_to_key`` is a 3x3 homography from full-resolution still pixels to key-frame pixels (clip resolution).
* ``flow`` (chosen frame -> key frame): chosen-frame pixel ``p`` shows the scene point that is at ``p + flow[p]``
  in the key frame. ``None`` means the chosen frame *is* the key frame.
* ``residual`` (key frame -> still in key geometry): key-frame pixel ``q`` shows what the still, warped into the
  key frame by ``still_to_key``, shows at ``q + residual[q]``. ``None`` means no residual (zero).

So chosen-frame pixel ``p`` lies in the still at ``inv(still_to_key) @ (q + residual(q))`` with ``q = p +
flow(p)``. An output image "in frame geometry at scale ``s``" has size ``round(W*s) x round(H*s)`` and its pixel
``u`` sits at frame position ``(u + 0.5) / s - 0.5``.
"""

from __future__ import annotations

import cv2
import numpy as np

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in output pixels, end exclusive


def resize_matrix(sx: float, sy: float | None = None) -> np.ndarray:
    """3x3 map from pixel coordinates of an image to those of the same image resized by (sx, sy)."""
    sy = sx if sy is None else sy
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def output_size(frame_shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """(height, width) of an image in frame geometry at ``scale``."""
    h, w = frame_shape[:2]
    return max(1, int(round(h * scale))), max(1, int(round(w * scale)))


def apply_homography(m: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a 3x3 homography to coordinate arrays (float32 results; float32 arithmetic keeps ~1e-3 px at the
    sizes of phone photos and is several times faster on full-frame grids)."""
    m = np.asarray(m, dtype=np.float64)
    if m[2, 2] != 0:
        m = m / m[2, 2]
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    a, b, c, d, e, f, g, h, _ = (np.float32(v) for v in m.ravel())
    if g == 0 and h == 0:
        return a * x + b * y + c, d * x + e * y + f
    den = g * x + h * y + np.float32(1.0)
    np.maximum(den, np.float32(1e-6), out=den)
    inv = np.float32(1.0) / den
    return (a * x + b * y + c) * inv, (d * x + e * y + f) * inv


def sample_field(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of an ``H x W x C`` (or ``H x W``) float field at float32 positions, edges replicated."""
    f = np.ascontiguousarray(field, dtype=np.float32)
    return cv2.remap(f, np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def grid(shape: tuple[int, int], scale: float = 1.0, region: Region | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """Frame-geometry positions (x, y) of the output pixels of an image at ``scale`` (optionally a region of it)."""
    oh, ow = output_size(shape, scale)
    x0, y0, x1, y1 = region if region is not None else (0, 0, ow, oh)
    sx = shape[1] / ow  # exact ratio, so the output covers the frame exactly even after rounding
    sy = shape[0] / oh
    xs = ((np.arange(x0, x1, dtype=np.float32) + 0.5) * sx - 0.5).astype(np.float32)
    ys = ((np.arange(y0, y1, dtype=np.float32) + 0.5) * sy - 0.5).astype(np.float32)
    return np.broadcast_to(xs[None, :], (len(ys), len(xs))), np.broadcast_to(ys[:, None], (len(ys), len(xs)))


def compose_flows(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
    """Field ``T`` with ``p + T(p) = q + second(q)`` where ``q = p + first(p)`` (either may be None = zero)."""
    if first is None:
        return None if second is None else second.copy()
    if second is None:
        return first.copy()
    h, w = first.shape[:2]
    gx, gy = grid((h, w))
    qx = gx + first[..., 0]
    qy = gy + first[..., 1]
    return first + sample_field(second, qx, qy)


def frame_to_still_map(still_to_key: np.ndarray, total_flow: np.ndarray | None, frame_shape: tuple[int, int],
                       scale: float = 1.0, region: Region | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(map_x, map_y)`` for ``cv2.remap(still, map_x, map_y, ...)``: for every output pixel (frame geometry at
    ``scale``), its position in the full-resolution still. ``total_flow`` is the chosen-frame field composed with
    the residual (see the module docstring), at clip resolution; it is sampled bilinearly -- flow vectors stay in
    clip pixels because the homography that follows is expressed in clip pixels."""
    px, py = grid(frame_shape, scale, region)
    if total_flow is not None:
        if scale == 1.0 and region is None:
            f = total_flow
        elif region is None:
            # the whole output: a resize samples exactly the grid positions (same pixel-centre convention) and
            # is several times faster than a remap at 12-48 MP
            f = cv2.resize(np.ascontiguousarray(total_flow, np.float32), (px.shape[1], px.shape[0]),
                           interpolation=cv2.INTER_LINEAR)
        else:
            f = sample_field(total_flow, px, py)
        px = px + f[..., 0]
        py = py + f[..., 1]
    return apply_homography(np.linalg.inv(still_to_key), px, py)


def invert_field(forward: np.ndarray, backward: np.ndarray | None = None, *, iterations: int = 6) -> np.ndarray:
    """Inverse ``B`` of a dense displacement field ``F`` (``q = p + F(p)`` <=> ``p = q + B(q)``), found by the
    fixed-point iteration ``B(q) = -F(q + B(q))`` started from an estimate ``backward`` (or ``-F``); it
    converges for the smooth, small fields alignment produces."""
    h, w = forward.shape[:2]
    gx, gy = grid((h, w))
    b = -forward if backward is None else backward
    for _ in range(iterations):
        b = -sample_field(forward, gx + b[..., 0], gy + b[..., 1])
    return b


def still_to_frame_map(still_to_key: np.ndarray, inverse_total_flow: np.ndarray | None,
                       frame_shape: tuple[int, int], still_shape: tuple[int, int], scale: float = 1.0,
                       still_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`frame_to_still_map`: for every pixel of the still (resized by ``still_scale``), its
    position in an image of frame geometry at ``scale``. ``inverse_total_flow`` maps positions of the still warped
    into key geometry back to the chosen frame (``p = r + inverse_total_flow(r)``)."""
    sh, sw = still_shape[:2]
    gx, gy = grid((sh, sw), still_scale)
    rx, ry = apply_homography(still_to_key, gx, gy)
    if inverse_total_flow is not None:
        f = sample_field(inverse_total_flow, rx, ry)
        rx = rx + f[..., 0]
        ry = ry + f[..., 1]
    return ((rx + 0.5) * scale - 0.5).astype(np.float32), ((ry + 0.5) * scale - 0.5).astype(np.float32)


def local_density(m: np.ndarray, x: float, y: float) -> float:
    """Source pixels per destination pixel (geometric mean of both axes) of homography ``m`` at ``(x, y)`` in the
    destination, i.e. the linear scale of ``inv(m)`` there."""
    inv = np.linalg.inv(m)
    eps = 0.5
    pts = np.array([[x, y], [x + eps, y], [x, y + eps]], dtype=np.float64)
    sx, sy = apply_homography(inv, pts[:, 0], pts[:, 1])
    j = np.array([[sx[1] - sx[0], sx[2] - sx[0]], [sy[1] - sy[0], sy[2] - sy[0]]], dtype=np.float64) / eps
    return float(np.sqrt(abs(np.linalg.det(j))))


def centre_density(still_to_key: np.ndarray, frame_shape: tuple[int, int]) -> float:
    """Still pixels per frame pixel at the frame's centre: the output scale at which the frame's field of view
    has the still's pixel density (the default scale of restoration)."""
    h, w = frame_shape[:2]
    return local_density(still_to_key, (w - 1) / 2.0, (h - 1) / 2.0)


# How far from the still's own size the frame's field of view at the still's density may come out and still be
# given exactly the still's size: the centre density is measured (+-0.3 % between frames of one clip), and a
# restored key photo should replace the original at its dimensions, not at 3021x4028 for a 3024x4032 photo.
STILL_SIZE_TOLERANCE = 0.005


def output_scale(still_to_key: np.ndarray, frame_shape: tuple[int, int], still_shape: tuple[int, int]) -> float:
    """The default output scale of restoration: :func:`centre_density`, or -- when that makes the frame within
    :data:`STILL_SIZE_TOLERANCE` of the still's size and the two have the same aspect to the pixel (the clip shows
    the still's whole field of view, as phones record it) -- the scale that gives exactly the still's size."""
    density = centre_density(still_to_key, frame_shape)
    fh, fw = frame_shape[:2]
    sh, sw = still_shape[:2]
    same_size = sw / fw
    if int(round(fh * same_size)) == sh and abs(density / same_size - 1.0) <= STILL_SIZE_TOLERANCE:
        return same_size
    return density


def prefilter(image: np.ndarray, density: float) -> tuple[np.ndarray, tuple[float, float]]:
    """``image`` area-resized to ``1 / density`` when ``density`` (source pixels per output pixel) is > 1.5, so a
    warp that samples it that sparsely does not alias; and the factors ``(fx, fy)`` of that resize (positions
    map as ``(x + 0.5) * fx - 0.5``)."""
    if density <= 1.5:
        return image, (1.0, 1.0)
    h, w = image.shape[:2]
    nw, nh = max(1, int(round(w / density))), max(1, int(round(h / density)))
    return cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA), (nw / w, nh / h)


def remap_image(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, density: float = 1.0,
                interpolation: int = cv2.INTER_LINEAR) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``image`` at ``(map_x, map_y)``; returns ``(warped, valid)``, ``valid`` True where the position lies
    inside the image. The image is :func:`prefilter` ed for ``density`` first."""
    h, w = image.shape[:2]
    valid = (map_x >= -0.5) & (map_x <= w - 0.5) & (map_y >= -0.5) & (map_y <= h - 0.5)
    src, (fx, fy) = prefilter(image, density)
    mx, my = map_x, map_y
    if (fx, fy) != (1.0, 1.0):
        mx = ((map_x + 0.5) * fx - 0.5).astype(np.float32)
        my = ((map_y + 0.5) * fy - 0.5).astype(np.float32)
    out = cv2.remap(np.ascontiguousarray(src), np.ascontiguousarray(mx, np.float32),
                    np.ascontiguousarray(my, np.float32), interpolation, borderMode=cv2.BORDER_REPLICATE)
    return out, valid


def smooth_field(field: np.ndarray, weight: np.ndarray, sigma: float, levels: int = 5,
                 prior: float | None = None, work_side: int = 360) -> np.ndarray:
    """Weighted (normalised-convolution) Gaussian smoothing of a displacement field, filled coarse to fine.

    Trusted vectors (``weight`` high: textured, consistent) are averaged over ``sigma`` pixels, which removes the
    estimator's noise where the true field is smooth; areas with no trusted vector nearby (sky, walls) take the
    field of their surroundings from coarser levels (each 4x coarser) instead of the estimator's guess there.
    Where even the coarsest level has no support, the field becomes ``prior`` (a constant), or stays the
    estimator's own when ``prior`` is None."""
    w = np.ascontiguousarray(weight, dtype=np.float32)
    f = np.ascontiguousarray(field, dtype=np.float32)
    full = f.shape[:2]
    if w.shape[:2] != full:
        # weights given on a coarser grid: work there
        f = cv2.resize(f, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_AREA)
        sigma = sigma * w.shape[1] / full[1]
    elif min(full) >= work_side * 2:
        # The estimators resolve flow at half resolution at best (DIS's finest scale 1); smoothing there costs a
        # quarter and loses nothing.
        half = (full[1] // 2, full[0] // 2)
        f = cv2.resize(f, half, interpolation=cv2.INTER_AREA)
        w = cv2.resize(w, half, interpolation=cv2.INTER_AREA)
        sigma = sigma / 2.0
    ws = [w]
    wfs = [f * w[..., None]]
    fs = [f]
    for _ in range(levels - 1):
        h, w_ = ws[-1].shape[:2]
        if min(h, w_) < 8:
            break
        size = (max(1, w_ // 4), max(1, h // 4))
        ws.append(cv2.resize(ws[-1], size, interpolation=cv2.INTER_AREA))
        wfs.append(cv2.resize(wfs[-1], size, interpolation=cv2.INTER_AREA))
        fs.append(cv2.resize(fs[-1], size, interpolation=cv2.INTER_AREA))
    result = None
    for lw, lwf, lf in zip(reversed(ws), reversed(wfs), reversed(fs)):
        den = cv2.GaussianBlur(lw, (0, 0), sigma)
        num = cv2.GaussianBlur(lwf, (0, 0), sigma)
        est = num / np.maximum(den, 1e-6)[..., None]
        # support relative to a half-trusted neighbourhood; the rest comes from the coarser level (or, at the
        # coarsest, from the estimator's own field: nothing trusted anywhere near)
        alpha = np.clip(den * 2.0, 0.0, 1.0)[..., None]
        if result is None:
            base = lf if prior is None else np.full_like(lf, prior)
        else:
            base = cv2.resize(result, (lw.shape[1], lw.shape[0]), interpolation=cv2.INTER_LINEAR)
        est -= base
        est *= alpha
        est += base
        result = est
    if result.shape[:2] != full:
        result = cv2.resize(result, (full[1], full[0]), interpolation=cv2.INTER_LINEAR)
    return result
