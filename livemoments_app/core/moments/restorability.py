"""How much of a frame the key photo can restore, estimated cheaply for every frame of a clip.

The full alignment (:func:`livemoments_app.core.align.align`) costs ~0.4 s per frame at clip resolution; here one
DIS flow pass each way between the frame and the key-time frame at low resolution (~384 px) stands in for it, with
the alignment module's own checks: the forward-backward error of the flow and the photometric distance between the
frame and the key frame warped onto it give the confidence map (:mod:`livemoments_app.core.align.confidence`), and
the share of pixels with confidence >= 0.5 is the frame's aligned share. The key photo's own fit to the key frame
(measured once, :func:`key_coverage`) bounds every frame's share: what the still does not show, no frame gets.
On the samples this estimate follows ``align(...).aligned_share`` within a few percent (tests/test_moments_samples.py).

The same flow gives the frame's rotation against the key frame (for the tilt part).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from livemoments_app.core.align import confidence as conf_mod
from livemoments_app.core.align.alignment import _texture_weight   # the alignment's own "is it textured" weight
from livemoments_app.core.align.flow import DISFlow, DISParams
from livemoments_app.core.align.warp import grid

FLOW_SIDE = 384            # long side of the frames the flow runs on
FB_TOLERANCE = 0.75        # forward-backward error (low-res pixels, ~4 clip px at 1920) giving confidence 0.5
PHOTO_TOLERANCE = 0.1      # the alignment module's photometric tolerance (colour distance 0..1)

# DIS at this size, one pyramid level coarser than the alignment's (flow resolved at 1/4 of FLOW_SIDE): a third of
# the cost, and with the round-trip tolerance widened to match, the share stays within ~0.05 of align()'s on the
# samples (finer flow with the tighter tolerance was no closer).
_DIS = DISFlow(DISParams(finest_scale=2, patch_size=8, patch_stride=4, gradient_descent_iterations=12,
                         variational_refinement_iterations=3))


@dataclass
class FrameMotion:
    aligned_share: float          # 0..1, within the key photo's coverage
    median_motion: float          # median flow magnitude, in fractions of the frame's long side
    rotation_deg: float           # rotation of the frame against the key frame (counter-clockwise positive), or NaN


def frame_motion(frame_rgb: np.ndarray, key_rgb: np.ndarray, key_valid: np.ndarray | None,
                 want_rotation: bool) -> FrameMotion:
    """``frame_rgb`` and ``key_rgb``: the two frames at the flow size (uint8 RGB, same shape); ``key_valid``: where
    the key photo covers the key frame (None: everywhere)."""
    h, w = frame_rgb.shape[:2]
    fwd = _DIS(frame_rgb, key_rgb)
    bwd = _DIS(key_rgb, frame_rgb)
    # Flat areas are interpolated, not measured: their round-trip error says nothing (as in the alignment).
    fb = conf_mod.forward_backward_error(fwd, bwd) * _texture_weight(frame_rgb)
    gx, gy = grid((h, w))
    qx, qy = gx + fwd[..., 0], gy + fwd[..., 1]
    valid = conf_mod.inside(fwd, (h, w))
    if key_valid is not None:
        valid &= cv2.remap(key_valid.astype(np.uint8), qx, qy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0) > 0
    warped = cv2.remap(key_rgb, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warped = conf_mod.colour_match(warped, frame_rgb, valid & (fb < FB_TOLERANCE))
    photo = conf_mod.photometric_distance(warped, frame_rgb, blur_sigma=1.0)
    conf = conf_mod.confidence_map(fb, photo, valid, FB_TOLERANCE, PHOTO_TOLERANCE)
    share = conf_mod.aligned_share(conf)
    motion = float(np.median(np.hypot(fwd[..., 0], fwd[..., 1]))) / max(h, w)
    rotation = rotation_deg(fwd, conf) if want_rotation else float("nan")
    return FrameMotion(share, motion, rotation)


def rotation_deg(flow: np.ndarray, confidence: np.ndarray, step: int = 8) -> float:
    """Rotation (degrees, counter-clockwise as seen on screen) of the frame against the key frame: a similarity fit
    to the trusted flow vectors (RANSAC); NaN when too few are trusted."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    keep = confidence[ys, xs] >= 0.5
    if np.count_nonzero(keep) < 30:
        return float("nan")
    src = np.stack([xs[keep], ys[keep]], axis=1).astype(np.float32)
    dst = src + flow[ys[keep], xs[keep]]
    m, _ = cv2.estimateAffinePartial2D(dst, src, method=cv2.RANSAC, ransacReprojThreshold=1.0)
    if m is None:
        return float("nan")
    # m maps key-frame points to frame points; image y points down, so a positive atan2 turns clockwise on screen.
    return -math.degrees(math.atan2(m[1, 0], m[0, 0]))


def key_coverage(still: np.ndarray, key_rgb: np.ndarray) -> tuple[float, np.ndarray | None, str | None]:
    """How well the key photo fits the key-time frame at the flow size: (aligned share, where it covers the frame,
    a note when it does not register). A cheap stand-in for the alignment's first stage (features + photometric
    check, no residual flow)."""
    from livemoments_app.core.align.pixels import to_rgb_u8
    from livemoments_app.core.align.registration import downscale_still, register_features
    from livemoments_app.core.align.warp import apply_homography
    from livemoments_app.core.errors import AlignmentError

    h, w = key_rgb.shape[:2]
    small, to_small = downscale_still(still, (h, w))
    try:
        matrix, _ = register_features(still, key_rgb, max_side=max(h, w), still_small=(small, to_small))
    except AlignmentError:
        return 0.0, None, "the key photo does not match the clip: other frames can borrow little of its detail"
    m = to_small @ np.linalg.inv(matrix)
    warped = cv2.warpPerspective(to_rgb_u8(small), m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
    gx, gy = grid((h, w))
    sx, sy = apply_homography(m, gx, gy)
    sh, sw = small.shape[:2]
    valid = (sx >= -0.5) & (sx <= sw - 0.5) & (sy >= -0.5) & (sy <= sh - 0.5)
    warped = conf_mod.colour_match(warped, key_rgb, valid)
    # A global transform leaves up to a few pixels of residual misfit that the full alignment's residual flow
    # removes: a wider blur keeps that from counting as disagreement.
    photo = conf_mod.photometric_distance(warped, key_rgb, blur_sigma=2.0)
    conf = conf_mod.confidence_map(None, photo, valid, 1.0, PHOTO_TOLERANCE)
    return conf_mod.aligned_share(conf), conf >= 0.5, None
