"""Alignment of the key photo onto a chosen frame: the paper's two-stage pipeline.

1. The full-resolution still is registered once per Live Photo onto the clip frame at the key time (the paper's
   "low-resolution key photo"): a feature homography refined on dense flow, plus a small residual flow for what a
   homography cannot express (lens/processing differences, the key frame's few ms of motion).
2. For a chosen frame, dense flow is computed between two *video* frames -- the chosen one and the key-time one --
   which share resolution, processing and compression, so flow there is far more reliable than still-to-frame.

:func:`align_pair` is the one-stage form for two plain images (the chosen frame plays the key frame's role).
See :mod:`livemoments_app.core.align.warp` for the coordinate conventions.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from livemoments_app.core.align import confidence as conf_mod
from livemoments_app.core.align.flow import DISFlow, DISParams, FlowEstimator, make_estimator
from livemoments_app.core.align.pixels import to_rgb_u8
from livemoments_app.core.align.registration import (
    downscale_still,
    refine_homography,
    register_features,
    transform_problem,
)
from livemoments_app.core.align.warp import (
    Region,
    apply_homography,
    compose_flows,
    frame_to_still_map,
    grid,
    invert_field,
    resize_matrix,
    output_scale,
    output_size,
    remap_image,
    sample_field,
    smooth_field,
    still_to_frame_map,
)
from livemoments_app.core.errors import AlignmentError
from livemoments_app.core.jobs import Progress

if TYPE_CHECKING:
    from livemoments_app.core.livephoto.model import LivePhoto


@dataclass(frozen=True)
class AlignOptions:
    estimator: str = "dis"                 # "dis" or "raft"
    raft_weights: str | None = None        # state dict for the RAFT estimator
    residual: bool = True                  # residual flow still -> key frame after the homography
    residual_passes: int = 1               # >1 re-warps the still and re-estimates the residual (more precise)
    feature_side: int = 640                # long side for feature detection
    min_inliers: int = 24
    fb_tolerance_px: float = 1.0           # forward-backward error giving confidence 0.5
    photo_tolerance: float = 0.1           # colour distance (0..1) giving confidence 0.5
    key_search: int = 1                    # neighbours tried around an *estimated* key time
    flow_smooth_px: float = 2.0            # weighted smoothing of the frame-to-frame flow (0: off), clip px
    residual_smooth_px: float = 8.0        # the same for the residual still -> frame flow (smooth by nature)
    residual_patch_px: int = 8             # DIS patch size for the residual (12: steadier on noisy frames)


# Two plain images are aligned for restoration, where precision beats speed: a second residual pass and larger
# DIS patches (on synthetic phone-video cases: mapping error 0.62 -> 0.48 still px on average, 0.46 -> 0.36 median).
PAIR_OPTIONS = AlignOptions(residual_passes=2, residual_patch_px=12)


@dataclass
class Alignment:
    """Where every pixel of the chosen frame lies in the full-resolution still, and how far to trust it.

    Fields (clip resolution ``H x W`` unless said otherwise; conventions in :mod:`~livemoments_app.core.align.warp`):

    * ``still_to_key``: 3x3 homography, full-resolution still pixels -> key-frame pixels.
    * ``flow`` / ``flow_back``: chosen -> key frame (``p`` <-> ``p + flow[p]``) and key -> chosen; ``None`` when the
      chosen frame is the key frame.
    * ``residual`` / ``residual_back``: key frame -> the still warped into key geometry and back; ``None`` when
      disabled.
    * ``confidence``: ``H x W`` float32 in [0, 1].
    * ``fb_error``: forward-backward round-trip error of the raw flow estimates (clip pixels, both stages combined),
      scaled by the local texture weight (gradient >= 4 levels/px counts fully, flat areas count ~0: there a
      misalignment is invisible and flow is interpolated from textured neighbours, so only the photometric check
      speaks). The fields themselves are the estimates after confidence-weighted smoothing.
    * ``aligned_share``: fraction of frame pixels with confidence >= 0.5.
    """

    frame_index: int | None
    key_index: int | None
    frame_shape: tuple[int, int]
    still_shape: tuple[int, int]
    still_to_key: np.ndarray
    flow: np.ndarray | None
    flow_back: np.ndarray | None
    residual: np.ndarray | None
    residual_back: np.ndarray | None
    confidence: np.ndarray
    fb_error: np.ndarray
    aligned_share: float
    fb_share: float                         # fraction with forward-backward error < fb tolerance (inside the still)
    inliers: int
    matches: int
    reprojection_error: float               # RMS, key-frame pixels, of the feature inliers under still_to_key
                                            # (keypoint localisation noise included: ORB at ~1/3 scale gives ~3 px)
    refine_inliers: int
    refine_rms: float                       # RMS, key-frame pixels, of the dense flow vectors the refined
                                            # homography explains: the precision of the global transform
    estimator: str
    method: str = "features"                # how the still was placed: features / featureless-ecc / -centred
    timings: dict[str, float] = field(default_factory=dict)

    # ----- derived geometry
    @cached_property
    def total_flow(self) -> np.ndarray | None:
        """Chosen frame -> still warped into key geometry: ``flow`` composed with ``residual``."""
        return compose_flows(self.flow, self.residual)

    @cached_property
    def inverse_total_flow(self) -> np.ndarray | None:
        """Still warped into key geometry -> chosen frame."""
        return compose_flows(self.residual_back, self.flow_back)

    @property
    def default_scale(self) -> float:
        """Output scale at which the frame's field of view has the still's pixel density (still pixels per frame
        pixel at the frame centre), snapped to the still's own size when it comes within half a percent of it
        (:func:`~livemoments_app.core.align.warp.output_scale`) -- the default output scale of restoration."""
        return output_scale(self.still_to_key, self.frame_shape, self.still_shape)

    @property
    def median_flow_px(self) -> float:
        """Median motion between the chosen and the key frame (clip pixels)."""
        if self.flow is None:
            return 0.0
        return float(np.median(np.hypot(self.flow[..., 0], self.flow[..., 1])))

    @property
    def median_residual_px(self) -> float:
        if self.residual is None:
            return 0.0
        return float(np.median(np.hypot(self.residual[..., 0], self.residual[..., 1])))

    def output_size(self, scale: float | None = None) -> tuple[int, int]:
        """(height, width) of the frame geometry at ``scale`` (default: :attr:`default_scale`)."""
        return output_size(self.frame_shape, self.default_scale if scale is None else scale)

    # ----- maps and warps
    def map_to_still(self, scale: float | None = None, region: Region | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(map_x, map_y)`` float32 for ``cv2.remap(still, map_x, map_y, ...)``: for each pixel of the frame
        geometry at ``scale`` (or of ``region`` = (x0, y0, x1, y1) of it), its position in the full-resolution
        still."""
        s = self.default_scale if scale is None else scale
        return frame_to_still_map(self.still_to_key, self.total_flow, self.frame_shape, s, region)

    def warp_still(self, still: np.ndarray, scale: float | None = None, region: Region | None = None,
                   interpolation: int = cv2.INTER_LINEAR) -> tuple[np.ndarray, np.ndarray]:
        """The full-resolution still mapped into the chosen frame's geometry at ``scale``: ``(warped, valid)``,
        ``valid`` False where the frame sees beyond the still's field of view. Prefiltered when downscaling."""
        if still.shape[:2] != self.still_shape:
            raise ValueError(f"still is {still.shape[:2]}, the alignment was made for {self.still_shape}")
        s = self.default_scale if scale is None else scale
        mx, my = self.map_to_still(s, region)
        return remap_image(still, mx, my, density=self.default_scale / s, interpolation=interpolation)

    def confidence_at(self, scale: float | None = None, region: Region | None = None) -> np.ndarray:
        """The confidence map resampled (bilinearly) to the frame geometry at ``scale``."""
        s = self.default_scale if scale is None else scale
        if s == 1.0 and region is None:
            return self.confidence
        gx, gy = grid(self.frame_shape, s, region)
        return np.clip(sample_field(self.confidence, gx, gy), 0.0, 1.0)

    def map_to_frame(self, scale: float | None = None, still_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """The inverse map: for each pixel of the still (resized by ``still_scale``), its position in the frame
        geometry at ``scale`` -- e.g. ``cv2.remap(restored, *alignment.map_to_frame(s))`` brings an image made in
        frame geometry at scale ``s`` into the still's geometry."""
        s = self.default_scale if scale is None else scale
        return still_to_frame_map(self.still_to_key, self.inverse_total_flow, self.frame_shape, self.still_shape,
                                  s, still_scale)

    def summary(self) -> dict[str, Any]:
        """Plain-data description (the CLI's --json)."""
        return {
            "frame_index": self.frame_index,
            "key_index": self.key_index,
            "frame_size": [self.frame_shape[1], self.frame_shape[0]],
            "still_size": [self.still_shape[1], self.still_shape[0]],
            "still_to_key": [[float(v) for v in row] for row in self.still_to_key],
            "default_scale": self.default_scale,
            "inliers": self.inliers,
            "matches": self.matches,
            "reprojection_error_px": self.reprojection_error,
            "refine_inliers": self.refine_inliers,
            "refine_rms_px": self.refine_rms,
            "median_flow_px": self.median_flow_px,
            "median_residual_px": self.median_residual_px,
            "aligned_share": self.aligned_share,
            "fb_share": self.fb_share,
            "estimator": self.estimator,
            "method": self.method,
            "timings_s": dict(self.timings),
        }


# --------------------------------------------------------------------------------------------------- stage 1
@dataclass
class _StillRegistration:
    """The still registered onto one frame (the key frame, or the target of align_pair)."""

    frame_shape: tuple[int, int]
    still_shape: tuple[int, int]
    matrix: np.ndarray                  # still -> frame pixels
    residual: np.ndarray | None         # frame -> still-in-frame-geometry
    residual_back: np.ndarray | None
    fb_error: np.ndarray                # residual's raw forward-backward error x texture weight
    warped: np.ndarray                  # uint8 RGB: the still in frame geometry, colour-matched to the frame
    valid: np.ndarray                   # the still covers the pixel
    photo_distance: np.ndarray
    inliers: int
    matches: int
    reprojection_error: float
    refine_inliers: int
    refine_rms: float
    method: str
    seconds: float


def _warp_small(small: np.ndarray, to_small: np.ndarray, matrix: np.ndarray, residual: np.ndarray | None,
                frame_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The downscaled still sampled at frame geometry through ``matrix`` (+ ``residual``), and where it is valid."""
    h, w = frame_shape
    if residual is None:
        m = to_small @ np.linalg.inv(matrix)
        warped = cv2.warpPerspective(small, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                     borderMode=cv2.BORDER_REPLICATE)
        gx, gy = grid((h, w))
        sx, sy = apply_homography(m, gx, gy)
    else:
        gx, gy = grid((h, w))
        sx, sy = apply_homography(to_small @ np.linalg.inv(matrix), gx + residual[..., 0], gy + residual[..., 1])
        warped = cv2.remap(small, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sh, sw = small.shape[:2]
    valid = (sx >= -0.5) & (sx <= sw - 0.5) & (sy >= -0.5) & (sy <= sh - 0.5)
    return warped, valid


def _register_still(still: np.ndarray, frame: np.ndarray, options: AlignOptions, estimator: FlowEstimator,
                    progress: Progress, path=None, frame_label: str = "the frame") -> _StillRegistration:
    t0 = time.perf_counter()
    frame_shape = frame.shape[:2]
    if isinstance(estimator, DISFlow) and options.residual_patch_px != estimator.params.patch_size:
        estimator = _dis_with_patch(options.residual_patch_px)
    progress.set(0.0, "Registering the key photo")
    small, to_small = downscale_still(still, frame_shape)
    matrix, fm = register_features(still, frame, min_inliers=options.min_inliers, max_side=options.feature_side,
                                   path=path, frame_label=frame_label, still_small=(small, to_small))
    progress.set(0.3, "Registering the key photo")
    small = to_rgb_u8(small)
    frame_u8 = to_rgb_u8(frame)
    residual = residual_back = None
    fb = np.zeros(frame_shape, np.float32)
    refine_inliers, refine_rms = 0, float("nan")
    if options.residual:
        # Refine the homography on dense flow first (half resolution is plenty: thousands of vectors are fitted
        # by least squares), so the residual flow that follows is measured against the refined transform.
        fit = _refine_on_flow(small, to_small, matrix, frame_u8)
        if fit is not None:
            c, refine_inliers, refine_rms = fit
            candidate = c @ matrix
            candidate /= candidate[2, 2]
            if transform_problem(candidate, still.shape[:2], frame_shape) is None:
                matrix = candidate
        progress.set(0.45, "Registering the key photo")
        warped, valid = _warp_small(small, to_small, matrix, None, frame_shape)
        warped_u8 = conf_mod.colour_match(warped, frame_u8, valid)
        residual = estimator(frame, warped_u8)
        progress.set(0.6, "Registering the key photo")
        backward = _backward_estimator(estimator, frame_shape)
        residual_back = backward(warped_u8, frame)
        fb_raw = conf_mod.forward_backward_error(residual, residual_back)
        tex = _texture_weight(frame)      # once: every smoothing pass and the check below weigh by it
        residual, residual_back = _smooth_pair(residual, residual_back, fb_raw, frame, None,
                                               options.residual_smooth_px, prior=0.0, src_texture=tex)
        for _ in range(options.residual_passes - 1):
            progress.set(0.75, "Refining the residual flow")
            warped, valid = _warp_small(small, to_small, matrix, residual, frame_shape)
            warped_u8 = conf_mod.colour_match(warped, frame_u8, valid)
            delta = estimator(frame, warped_u8)
            delta_back = backward(warped_u8, frame)
            fb_raw = conf_mod.forward_backward_error(delta, delta_back)
            # still-grid s -> re-warped grid r (inverse of r -> r + residual(r)) -> frame r + delta_back(r)
            residual_back = compose_flows(invert_field(residual, residual_back), delta_back)
            residual = compose_flows(delta, residual)
            residual, residual_back = _smooth_pair(residual, residual_back, fb_raw, frame, None,
                                                   options.residual_smooth_px, prior=0.0, src_texture=tex)
        fb = fb_raw * tex
    warped, valid = _warp_small(small, to_small, matrix, residual, frame_shape)
    warped = conf_mod.colour_match(warped, frame_u8, valid & (fb < options.fb_tolerance_px))
    work = _work_scale(frame_shape)
    if work == 1.0:
        photo = conf_mod.photometric_distance(warped, frame_u8)
    else:
        half = (frame_shape[1] // 2, frame_shape[0] // 2)
        photo = conf_mod.photometric_distance(cv2.resize(warped, half, interpolation=cv2.INTER_AREA),
                                              cv2.resize(frame_u8, half, interpolation=cv2.INTER_AREA), 0.75)
        photo = cv2.resize(photo, (frame_shape[1], frame_shape[0]), interpolation=cv2.INTER_LINEAR)
    # reprojection error of the feature inliers under the final transform, in frame pixels
    reproj = float("nan")
    if len(fm.src_points):
        src_full = _small_to_full(fm.src_points, to_small)
        rx, ry = apply_homography(matrix, src_full[:, 0], src_full[:, 1])
        reproj = float(np.sqrt(np.mean((rx - fm.dst_points[:, 0]) ** 2 + (ry - fm.dst_points[:, 1]) ** 2)))
    progress.set(1.0, "Registered the key photo")
    return _StillRegistration(frame_shape, still.shape[:2], matrix, residual, residual_back, fb, warped, valid,
                              photo, fm.inliers, fm.matches, reproj, refine_inliers, refine_rms, fm.method,
                              time.perf_counter() - t0)


def _smooth_pair(forward: np.ndarray, backward: np.ndarray, fb_raw: np.ndarray, src: np.ndarray,
                 dst: np.ndarray | None, sigma: float, prior: float | None = None, *,
                 src_texture: np.ndarray | None = None, smooth_backward: bool = True
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted smoothing of a forward/backward pair: trusted vectors are textured and round-trip consistent
    (weights from ``src`` for the forward field and from ``dst`` -- or ``src`` carried along the backward field --
    for the backward one). ``fb_raw`` is the forward field's round-trip error before smoothing."""
    if sigma <= 0:
        return forward, backward
    tex_f = _texture_weight(src) if src_texture is None else src_texture
    wf = tex_f * conf_mod.tolerance_factor(fb_raw, 0.5)
    forward_s = smooth_field(forward, wf, sigma, prior=prior)
    if not smooth_backward:
        return forward_s, backward
    fb_b = conf_mod.forward_backward_error(backward, forward)
    tex_b = _texture_weight(dst) if dst is not None else _warp_by(tex_f, backward)
    wb = tex_b * conf_mod.tolerance_factor(fb_b, 0.5)
    return forward_s, smooth_field(backward, wb, sigma, prior=prior)


def _warp_by(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    gx, gy = grid(field.shape[:2])
    return cv2.remap(image, gx + field[..., 0], gy + field[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def _texture_weight(image: np.ndarray, full_at: float = 4.0) -> np.ndarray:
    """Gradient magnitude (8-bit units per pixel) mapped to [0, 1] (1 from ``full_at`` up): where a misalignment
    would be visible, and where flow is measured rather than merely regularised."""
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    if g.dtype == np.uint16:
        g = g / 257.0
    elif g.dtype != np.uint8:
        g = g * 255.0
    g = cv2.GaussianBlur(g.astype(np.float32), (0, 0), 1.0)
    mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 8.0
    return np.clip(mag / full_at, 0.0, 1.0)


_REFINE_DIS = DISFlow()


def _refine_on_flow(small: np.ndarray, to_small: np.ndarray, matrix: np.ndarray, frame: np.ndarray
                    ) -> tuple[np.ndarray, int, float] | None:
    """Homography correction (frame pixels) from dense flow between the frame and the still warped by
    ``matrix``, both at half resolution for large frames."""
    h, w = frame.shape[:2]
    f = _work_scale((h, w))
    wh, ww = output_size((h, w), f)
    to_work = resize_matrix(ww / w, wh / h)
    m = to_work @ matrix
    warped, valid = _warp_small(small, to_small, m, None, (wh, ww))
    frame_w = frame if f == 1.0 else cv2.resize(frame, (ww, wh), interpolation=cv2.INTER_AREA)
    warped = conf_mod.colour_match(warped, frame_w, valid)
    flow = _REFINE_DIS(frame_w, warped)
    # fully textured pixels only: there flow is measured, not just regularised
    reliable = valid & conf_mod.inside(flow, (wh, ww), margin=2.0) & (_texture_weight(frame_w) >= 1.0)
    fit = refine_homography(flow, reliable, step=4)
    if fit is None:
        return None
    c, n, rms = fit
    # the correction was fitted in work pixels: express it in frame pixels
    c = np.linalg.inv(to_work) @ c @ to_work
    return c / c[2, 2], n, rms / f


def _small_to_full(points: np.ndarray, to_small: np.ndarray) -> np.ndarray:
    x, y = apply_homography(np.linalg.inv(to_small), points[:, 0], points[:, 1])
    return np.stack([x, y], axis=1).astype(np.float64)


# --------------------------------------------------------------------------------------------------- stage 2
def _build(reg: _StillRegistration, chosen: np.ndarray, flow: np.ndarray | None, flow_back: np.ndarray | None,
           fb_flow: np.ndarray | None, options: AlignOptions, frame_index: int | None, key_index: int | None, estimator_name: str,
           timings: dict[str, float]) -> Alignment:
    t0 = time.perf_counter()
    shape = reg.frame_shape
    if flow is None:
        fb = reg.fb_error
        valid = reg.valid
        photo = reg.photo_distance
    else:
        # The checks run on a half-resolution grid for large clips (a new frame must stay interactive); the
        # confidence is a smooth map and is brought back to clip resolution at the end.
        work = _work_scale(shape)
        wh, ww = output_size(shape, work)
        gx, gy = grid(shape, work)
        f = flow if work == 1.0 else cv2.resize(flow, (ww, wh), interpolation=cv2.INTER_LINEAR)
        qx = gx + f[..., 0]
        qy = gy + f[..., 1]
        fb_res = cv2.remap(reg.fb_error, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fb = np.hypot(fb_flow, fb_res)   # fb_flow is already on the work grid
        h, w = shape
        inside = (qx >= -0.5) & (qx <= w - 0.5) & (qy >= -0.5) & (qy <= h - 0.5)
        valid = inside & (cv2.remap(reg.valid.astype(np.uint8), qx, qy, cv2.INTER_NEAREST,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0)
        warped = cv2.remap(reg.warped, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        chosen_w = to_rgb_u8(chosen if work == 1.0 else cv2.resize(chosen, (ww, wh), interpolation=cv2.INTER_AREA))
        warped = conf_mod.colour_match(warped, chosen_w, valid & (fb < options.fb_tolerance_px))
        photo = conf_mod.photometric_distance(warped, chosen_w, blur_sigma=1.5 * work)
        if work != 1.0:
            conf_w = conf_mod.confidence_map(fb, photo, valid, options.fb_tolerance_px, options.photo_tolerance)
            confidence = np.clip(cv2.resize(conf_w, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
            fb = cv2.resize(fb, (w, h), interpolation=cv2.INTER_LINEAR)
            valid = cv2.resize(valid.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
            photo = None
    if photo is not None:
        confidence = conf_mod.confidence_map(fb, photo, valid, options.fb_tolerance_px, options.photo_tolerance)
    share = conf_mod.aligned_share(confidence)
    fb_share = float(np.count_nonzero(valid & (fb < options.fb_tolerance_px))) / float(fb.size)
    timings = dict(timings)
    timings["confidence_s"] = time.perf_counter() - t0
    return Alignment(frame_index, key_index, shape, reg.still_shape, reg.matrix.copy(), flow, flow_back,
                     reg.residual, reg.residual_back, confidence, fb, share, fb_share, reg.inliers, reg.matches,
                     reg.reprojection_error, reg.refine_inliers, reg.refine_rms, estimator_name, reg.method,
                     timings)


def _work_scale(shape: tuple[int, int]) -> float:
    """Grid of the per-frame checks: half resolution for clips of 720 px and more on the short side."""
    return 0.5 if min(shape) >= 720 else 1.0


_ESTIMATORS: dict[tuple, FlowEstimator] = {}


def _estimator(options: AlignOptions) -> FlowEstimator:
    if options.estimator == "dis":
        return _DEFAULT_DIS
    key = (options.estimator, options.raft_weights)
    est = _ESTIMATORS.get(key)
    if est is None:   # built once: RAFT loads its weights
        est = _ESTIMATORS[key] = make_estimator(options.estimator, raft_weights=options.raft_weights)
    return est


_DEFAULT_DIS = DISFlow()
_BACKWARD_DIS = DISFlow(DISParams(finest_scale=2))
_DIS_BY_PATCH: dict[int, DISFlow] = {_DEFAULT_DIS.params.patch_size: _DEFAULT_DIS}


def _backward_estimator(estimator: FlowEstimator, shape: tuple[int, int]) -> FlowEstimator:
    """The estimator of a backward field that serves only the consistency check and the inverse map. For clips
    of 720 px and more on the short side and DIS, the same patches one pyramid level coarser: a quarter of the
    cost (0.08 instead of 0.38 s CPU per field at 1440x1920), as :func:`align` does for the frame-to-frame
    flow. Smaller frames keep the full estimator (at 512x384 the coarser level is 128x96 and the check loses
    its precision: -0.08 dB on the synthetic set)."""
    if estimator is _DEFAULT_DIS:
        return _BACKWARD_DIS
    if _work_scale(shape) == 1.0 or not isinstance(estimator, DISFlow):
        return estimator
    p = estimator.params
    key = (p.patch_size, p.finest_scale + 1)
    est = _COARSER_DIS.get(key)
    if est is None:
        est = _COARSER_DIS[key] = DISFlow(replace(p, finest_scale=p.finest_scale + 1))
    return est


_COARSER_DIS: dict[tuple[int, int], DISFlow] = {}


def _dis_with_patch(patch: int) -> DISFlow:
    """DIS with another patch size (stride half the patch), shared between calls for its per-thread state."""
    est = _DIS_BY_PATCH.get(patch)
    if est is None:
        est = _DIS_BY_PATCH[patch] = DISFlow(DISParams(patch_size=patch, patch_stride=max(1, patch // 2)))
    return est


def align_pair(still: np.ndarray, frame: np.ndarray, options: AlignOptions | None = None,
               progress: Progress | None = None, *, estimator: FlowEstimator | None = None) -> Alignment:
    """Align a full-resolution ``still`` onto a ``frame`` (two plain RGB images): homography + residual flow,
    with two residual passes by default for sub-pixel precision. Raises AlignmentError when they do not match."""
    options = options or PAIR_OPTIONS
    progress = progress or Progress()
    est = estimator or _estimator(options)
    t0 = time.perf_counter()
    reg = _register_still(still, frame, options, est, progress.sub(0.0, 0.95))
    timings = {"registration_s": reg.seconds, "flow_s": 0.0}
    out = _build(reg, frame, None, None, None, options, None, None, est.name, timings)
    out.timings["total_s"] = time.perf_counter() - t0
    progress.set(1.0, "Aligned")
    return out


# --------------------------------------------------------------------------------------------------- caching
class _PhotoCache:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.registrations: dict[AlignOptions, tuple[int, _StillRegistration]] = {}
        self.alignments: OrderedDict[tuple, Alignment] = OrderedDict()


_CACHES: dict[int, _PhotoCache] = {}
_CACHES_LOCK = threading.Lock()
_MAX_ALIGNMENTS_PER_PHOTO = 4   # each holds ~4 flow fields at clip resolution (~100 MB at 1920x1440)


def _cache_for(live_photo: "LivePhoto") -> _PhotoCache:
    key = id(live_photo)
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None:
            cache = _CACHES[key] = _PhotoCache()
            weakref.finalize(live_photo, _CACHES.pop, key, None)
        return cache


def clear_cache(live_photo: "LivePhoto | None" = None) -> None:
    """Forget cached registrations and alignments (of one Live Photo, or all)."""
    with _CACHES_LOCK:
        if live_photo is None:
            _CACHES.clear()
        else:
            _CACHES.pop(id(live_photo), None)


def _key_registration(live_photo: "LivePhoto", options: AlignOptions, estimator: FlowEstimator,
                      progress: Progress) -> tuple[int, _StillRegistration]:
    cache = _cache_for(live_photo)
    # every option but the per-frame flow smoothing shapes the registration
    rkey = replace(options, flow_smooth_px=0.0)
    with cache.lock:
        hit = cache.registrations.get(rkey)
        if hit is not None:
            return hit
        clip = live_photo.clip
        key_index = int(live_photo.key_frame_index)
        candidates = [key_index]
        if live_photo.key_time_estimated and options.key_search > 0:
            lo = max(0, key_index - options.key_search)
            hi = min(clip.frame_count - 1, key_index + options.key_search)
            candidates = [key_index] + [i for i in range(lo, hi + 1) if i != key_index]
        best: tuple[float, int, _StillRegistration] | None = None
        error: AlignmentError | None = None
        for n, idx in enumerate(candidates):
            sub = progress.sub(n / len(candidates), 1.0 / len(candidates))
            try:
                reg = _register_still(live_photo.still.pixels, clip.frame(idx), options, estimator, sub,
                                      path=live_photo.still_path, frame_label=f"the key-time frame #{idx}")
            except AlignmentError as exc:
                error = error or exc
                continue
            score = float(np.mean(reg.photo_distance[reg.valid])) if reg.valid.any() else 1.0
            if best is None or score < best[0]:
                best = (score, idx, reg)
        if best is None:
            assert error is not None
            raise error
        result = (best[1], best[2])
        cache.registrations[rkey] = result
        return result


def align(live_photo: "LivePhoto", frame_index: int, options: AlignOptions | None = None,
          progress: Progress | None = None, *, estimator: FlowEstimator | None = None) -> Alignment:
    """Align the key photo of ``live_photo`` onto clip frame ``frame_index``.

    The still-to-key-frame registration is computed once per Live Photo (and options) and cached; alignments are
    cached per frame (a few most recent). Cancellable through ``progress`` between steps."""
    options = options or AlignOptions()
    progress = progress or Progress()
    clip = live_photo.clip
    if not 0 <= frame_index < clip.frame_count:
        raise ValueError(f"frame index {frame_index} outside the clip (0..{clip.frame_count - 1})")
    cache = _cache_for(live_photo)
    akey = (frame_index, options)
    with cache.lock:
        hit = cache.alignments.get(akey)
        if hit is not None:
            cache.alignments.move_to_end(akey)
            return hit
    est = estimator or _estimator(options)
    t0 = time.perf_counter()
    key_index, reg = _key_registration(live_photo, options, est, progress.sub(0.0, 0.6))
    reg_s = time.perf_counter() - t0
    progress.set(0.6, "Computing motion")
    chosen = clip.frame(frame_index)
    flow = flow_back = fb_flow = None
    t_flow = time.perf_counter()
    if frame_index != key_index:
        key = clip.frame(key_index)
        flow = est(chosen, key)
        progress.set(0.75, "Computing motion")
        # The backward field serves the consistency check and the inverse map only: with DIS it is estimated one
        # pyramid level coarser, which costs a third and changes the aligned share by < 0.01 on the samples.
        flow_back = (_BACKWARD_DIS if est is _DEFAULT_DIS else est)(key, chosen)
        # Checks and smoothing weights on a half-resolution grid for large clips (DIS resolves flow at half
        # resolution anyway); the backward field only serves the inverse map and is left as estimated.
        work = _work_scale(chosen.shape[:2])
        gx, gy = grid(chosen.shape[:2], work)
        f_w = flow if work == 1.0 else cv2.resize(flow, (gx.shape[1], gx.shape[0]), interpolation=cv2.INTER_LINEAR)
        b_w = sample_field(flow_back, gx + f_w[..., 0], gy + f_w[..., 1])
        fb_raw = np.hypot(f_w[..., 0] + b_w[..., 0], f_w[..., 1] + b_w[..., 1])
        chosen_w = chosen if work == 1.0 else cv2.resize(chosen, (gx.shape[1], gx.shape[0]),
                                                          interpolation=cv2.INTER_AREA)
        tex = _texture_weight(chosen_w, full_at=4.0 / work)
        fb_flow = fb_raw * tex
        flow, flow_back = _smooth_pair(flow, flow_back, fb_raw, chosen, key, options.flow_smooth_px, src_texture=tex,
                                       smooth_backward=False)
    flow_s = time.perf_counter() - t_flow
    progress.set(0.9, "Checking the alignment")
    timings = {"registration_s": reg_s, "registration_first_s": reg.seconds, "flow_s": flow_s}
    out = _build(reg, chosen, flow, flow_back, fb_flow, options, frame_index, key_index, est.name, timings)
    out.timings["total_s"] = time.perf_counter() - t0
    with cache.lock:
        cache.alignments[akey] = out
        while len(cache.alignments) > _MAX_ALIGNMENTS_PER_PHOTO:
            cache.alignments.popitem(last=False)
    progress.set(1.0, "Aligned")
    return out
