"""Global registration of the full-resolution still onto a clip frame: a homography, or an honest failure.

The still is downscaled to the frame's pixel density first (the video is a crop/scale of the same optics, so the
remaining transform is close to identity: a shift of up to a few tens of pixels from stabilisation, a fraction
of a degree of rotation, ~1 % of scale). SIFT features on contrast-normalised luma at reduced size are matched
and a homography is fitted with MAGSAC++; :func:`refine_homography` then sharpens it with dense flow (the
"equivalent of ECC": a robust homography fit to thousands of sub-pixel flow vectors instead of a few hundred
keypoints). A transform that fails the sanity checks raises :class:`AlignmentError` instead of warping wildly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from livemoments_app.core.align.pixels import to_gray_u8
from livemoments_app.core.align.warp import apply_homography, grid, resize_matrix
from livemoments_app.core.errors import AlignmentError


@dataclass(frozen=True)
class FeatureMatch:
    """A homography from feature matches, in the coordinates of the two images given to :func:`match_features`."""

    matrix: np.ndarray
    inliers: int
    matches: int
    rms_error: float           # RMS reprojection error of the inliers, destination pixels
    src_points: np.ndarray     # inlier points, N x 2
    dst_points: np.ndarray
    keypoints: tuple[int, int] = (0, 0)   # detected in (src, dst)
    method: str = "features"
    all_src: np.ndarray | None = None     # every ratio-test match, for a fallback fit
    all_dst: np.ndarray | None = None


def nominal_scale(still_shape: tuple[int, int], frame_shape: tuple[int, int]) -> float:
    """Linear factor that brings the still to about the frame's size (phones crop differently, so the geometric
    mean of both axes)."""
    return math.sqrt((frame_shape[0] / still_shape[0]) * (frame_shape[1] / still_shape[1]))


def downscale_still(still: np.ndarray, frame_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The still at the frame's pixel density, and the 3x3 map from full-resolution still pixels to its pixels."""
    s = nominal_scale(still.shape[:2], frame_shape)
    h, w = still.shape[:2]
    nw, nh = max(8, int(round(w * s))), max(8, int(round(h * s)))
    src = still
    halvings = 0
    # Halve with pyrDown while more than 2x too large (several times cheaper than one big area resize of a
    # 12-48 MP still); the remaining factor is an area resize. pyrDown centres output pixel i on input pixel 2i
    # (not 2i + 0.5 as a resize does), which the returned matrix accounts for.
    while src.shape[1] >= 2 * nw and src.shape[0] >= 2 * nh:
        src = cv2.pyrDown(src)
        halvings += 1
    small = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
    pyr = np.diag([0.5 ** halvings, 0.5 ** halvings, 1.0])
    return small, resize_matrix(nw / src.shape[1], nh / src.shape[0]) @ pyr


def _normalised_gray(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    g = to_gray_u8(image)
    f = min(1.0, max_side / max(g.shape[:2]))
    if f < 1.0:
        g = cv2.resize(g, (int(round(g.shape[1] * f)), int(round(g.shape[0] * f))), interpolation=cv2.INTER_AREA)
    # Tone curves differ between the still and the video, and night scenes are dark: equalise local contrast so
    # both images give keypoints in the same places.
    g = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(g)
    return g, f


def match_features(src: np.ndarray, dst: np.ndarray, *, max_side: int = 720, n_features: int = 3000,
                   ratio: float = 0.8, ransac_px: float = 3.0, detector: str = "sift") -> FeatureMatch:
    """Homography ``src -> dst`` (pixel coordinates of the given images) from ``detector`` ("sift" or "orb")
    matches; ``inliers`` is 0 when there are too few matches to fit one. Features are computed with the long side
    reduced to ``max_side``."""
    cv2.setRNGSeed(20260412)   # matching and RANSAC are randomised: one photo must always align the same way
    gs, fs = _normalised_gray(src, max_side)
    gd, fd = _normalised_gray(dst, max_side)
    if detector == "orb":
        feat = cv2.ORB_create(min(n_features, 2000), scaleFactor=1.2, nlevels=6, fastThreshold=10)
    else:
        feat = cv2.SIFT_create(nfeatures=n_features, contrastThreshold=0.02)
    ks, ds = feat.detectAndCompute(gs, None)
    kd, dd = feat.detectAndCompute(gd, None)
    counts = (len(ks), len(kd))
    if ds is None or dd is None or min(counts) < 8:
        return _no_match(counts)
    if detector == "orb":
        pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(ds, dd, k=2)
    else:
        pairs = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 64}).knnMatch(ds, dd, k=2)
    good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < ratio * n.distance]
    if len(good) < 8:
        return _no_match(counts, len(good))
    ps = np.float64([ks[m.queryIdx].pt for m in good])
    pd = np.float64([kd[m.trainIdx].pt for m in good])
    # back to the pixel coordinates of the images as given
    ps = (ps + 0.5) / fs - 0.5
    pd = (pd + 0.5) / fd - 0.5
    cv2.setRNGSeed(20260412)
    m, mask = cv2.findHomography(ps, pd, cv2.USAC_MAGSAC, ransac_px / fd, maxIters=5000, confidence=0.999)
    if m is None or mask is None:
        return _no_match(counts, len(good))
    keep = mask.ravel().astype(bool)
    if keep.sum() < 8:
        return _no_match(counts, len(good))
    px, py = apply_homography(m, ps[keep, 0], ps[keep, 1])
    err = np.hypot(px - pd[keep, 0], py - pd[keep, 1])
    return FeatureMatch(m / m[2, 2], int(keep.sum()), len(good), float(np.sqrt(np.mean(err ** 2))),
                        ps[keep], pd[keep], counts, "features", ps, pd)


def similarity_fallback(fm: FeatureMatch, ransac_px: float = 3.0) -> FeatureMatch | None:
    """A rotation + uniform scale + shift fitted to the same matches: sturdier than a homography when the
    agreeing matches are few or bunched in one part of the image (a homography then extrapolates wildly)."""
    if fm.all_src is None or len(fm.all_src) < 8:
        return None
    cv2.setRNGSeed(20260412)
    a, mask = cv2.estimateAffinePartial2D(fm.all_src, fm.all_dst, method=cv2.RANSAC,
                                          ransacReprojThreshold=ransac_px, maxIters=5000, confidence=0.999)
    if a is None or mask is None:
        return None
    keep = mask.ravel().astype(bool)
    if keep.sum() < 8:
        return None
    m = np.vstack([a, [0.0, 0.0, 1.0]])
    px, py = apply_homography(m, fm.all_src[keep, 0], fm.all_src[keep, 1])
    err = np.hypot(px - fm.all_dst[keep, 0], py - fm.all_dst[keep, 1])
    return FeatureMatch(m, int(keep.sum()), fm.matches, float(np.sqrt(np.mean(err ** 2))), fm.all_src[keep],
                        fm.all_dst[keep], fm.keypoints, "features-similarity", fm.all_src, fm.all_dst)


def _no_match(counts: tuple[int, int], matches: int = 0) -> FeatureMatch:
    empty = np.zeros((0, 2), np.float64)
    return FeatureMatch(np.eye(3), 0, matches, float("nan"), empty, empty, counts, "none")


def transform_problem(matrix: np.ndarray, still_shape: tuple[int, int], frame_shape: tuple[int, int], *,
                      max_scale_ratio: float = 1.6, max_rotation_deg: float = 15.0,
                      max_perspective: float = 0.15, min_overlap: float = 0.5) -> str | None:
    """Why ``matrix`` (still -> frame pixels) is not a plausible still-to-video transform, or None if it is.

    The still and the clip come from one camera a fraction of a second apart, so a true transform scales the
    still by about the nominal factor, rotates it a little, bends it hardly at all and covers most of the frame."""
    m = np.asarray(matrix, dtype=np.float64)
    if not np.all(np.isfinite(m)):
        return "the transform is not finite"
    hs, ws = still_shape[:2]
    h, w = frame_shape[:2]
    corners = np.array([[0, 0], [ws - 1, 0], [ws - 1, hs - 1], [0, hs - 1]], np.float64)
    den = m[2, 0] * corners[:, 0] + m[2, 1] * corners[:, 1] + m[2, 2]
    if np.any(den <= 0):
        return "the transform folds the key photo over itself"
    nominal = nominal_scale(still_shape, frame_shape)
    # local linear scale at the corners and the centre, relative to the nominal one
    pts = np.vstack([corners, [[ws / 2, hs / 2]]])
    scales = []
    for x, y in pts:
        px, py = apply_homography(m, np.array([x, x + 1, x]), np.array([y, y, y + 1]))
        j = np.array([[px[1] - px[0], px[2] - px[0]], [py[1] - py[0], py[2] - py[0]]], np.float64)
        det = np.linalg.det(j)
        if det <= 0:
            return "the transform mirrors the key photo"
        scales.append(math.sqrt(det) / nominal)
    scales = np.array(scales)
    if scales[-1] > max_scale_ratio or scales[-1] < 1.0 / max_scale_ratio:
        return f"the key photo would be scaled by {scales[-1]:.2f}x its expected size"
    if scales.max() / scales.min() > 1.0 + max_perspective:
        return "the transform is too strongly perspective"
    cx, cy = apply_homography(m, np.array([ws / 2, ws / 2 + 100.0]), np.array([hs / 2, hs / 2]))
    angle = math.degrees(math.atan2(float(cy[1] - cy[0]), float(cx[1] - cx[0])))
    if abs(angle) > max_rotation_deg:
        return f"the transform rotates the key photo by {angle:.1f} degrees"
    # share of the frame the still covers
    step = max(1, min(h, w) // 64)
    gx, gy = np.meshgrid(np.arange(0, w, step, dtype=np.float64), np.arange(0, h, step, dtype=np.float64))
    sx, sy = apply_homography(np.linalg.inv(m), gx, gy)
    covered = float(np.mean((sx >= -0.5) & (sx <= ws - 0.5) & (sy >= -0.5) & (sy <= hs - 0.5)))
    if covered < min_overlap:
        return f"the key photo would cover only {covered:.0%} of the frame"
    return None


FEATURELESS_KEYPOINTS = 150   # fewer SIFT keypoints than this in either image: a scene with nothing to misalign
ORB_ENOUGH = 150              # ORB inliers that make the SIFT pass unnecessary


def register_features(still: np.ndarray, frame: np.ndarray, *, min_inliers: int = 24, max_side: int = 720,
                      path=None, frame_label: str = "the frame",
                      still_small: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, FeatureMatch]:
    """Homography from full-resolution still pixels to frame pixels by features, sanity-checked.

    ``still_small`` may pass a precomputed :func:`downscale_still` result. A scene too plain for features (a wall,
    a ceiling: fewer than :data:`FEATURELESS_KEYPOINTS` keypoints) is placed by ECC on its faint structure, or
    centred at the nominal scale -- there is nothing there to misalign, and the photometric check still speaks.
    Raises AlignmentError ("could not align ...") when a textured scene's features do not support a plausible
    transform (another scene, another moment)."""
    small, to_small = still_small if still_small is not None else downscale_still(still, frame.shape[:2])
    # ORB is ~4x cheaper than SIFT and finds plenty on ordinary scenes (the dense refinement that follows gives
    # the precision); SIFT is the fallback for dark, low-contrast or hard scenes.
    fm = match_features(small, frame, max_side=max_side, detector="orb")
    if fm.inliers < max(min_inliers, ORB_ENOUGH):
        sift = match_features(small, frame, max_side=max_side, detector="sift")
        if sift.inliers >= fm.inliers or min(sift.keypoints) < FEATURELESS_KEYPOINTS:
            fm = sift
    if fm.inliers < min_inliers:
        if min(fm.keypoints) < FEATURELESS_KEYPOINTS:
            fm = _featureless(small, frame, fm)
        else:
            raise AlignmentError(f"could not align the key photo onto {frame_label}: only {fm.inliers} feature "
                                 f"matches agree (at least {min_inliers} needed)", path)
    matrix = fm.matrix @ to_small
    matrix /= matrix[2, 2]
    problem = transform_problem(matrix, still.shape[:2], frame.shape[:2])
    if problem and fm.method == "features":
        sim = similarity_fallback(fm)
        if sim is not None and sim.inliers >= min_inliers:
            candidate = sim.matrix @ to_small
            if transform_problem(candidate, still.shape[:2], frame.shape[:2]) is None:
                return candidate / candidate[2, 2], sim
    if problem:
        raise AlignmentError(f"could not align the key photo onto {frame_label}: {problem}", path)
    return matrix, fm


def _highpass(image: np.ndarray, factor: float) -> np.ndarray:
    g = to_gray_u8(image).astype(np.float32)
    g = cv2.resize(g, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    hp = g - cv2.GaussianBlur(g, (0, 0), 8.0)   # drop the illumination, which differs between still and video
    return (hp / (float(hp.std()) + 1e-6)).astype(np.float32)


def _featureless(small: np.ndarray, frame: np.ndarray, fm: FeatureMatch) -> FeatureMatch:
    """Placement of a plain scene: centred at the nominal scale, then ECC translation on high-passed luma."""
    sh, sw = small.shape[:2]
    h, w = frame.shape[:2]
    m = np.array([[1.0, 0.0, (w - sw) / 2.0], [0.0, 1.0, (h - sh) / 2.0], [0.0, 0.0, 1.0]])
    method = "featureless-centred"
    factor = min(1.0, 480.0 / max(h, w))
    if (sh, sw) == (h, w):
        a, b = _highpass(small, factor), _highpass(frame, factor)
        warp = np.eye(2, 3, dtype=np.float32)
        try:
            _, warp = cv2.findTransformECC(b, a, warp, cv2.MOTION_TRANSLATION,
                                           (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5), None, 5)
            shift = -warp[:, 2] / factor   # ECC maps frame -> still; we need still -> frame
            if np.all(np.abs(shift) < 0.05 * max(h, w)):
                m[:2, 2] = shift
                method = "featureless-ecc"
        except cv2.error:
            pass   # did not converge: keep the centred placement
    empty = np.zeros((0, 2), np.float64)
    return FeatureMatch(m, 0, fm.matches, float("nan"), empty, empty, fm.keypoints, method)


def refine_homography(flow: np.ndarray, reliable: np.ndarray, *, step: int = 6, threshold_px: float = 0.75,
                      min_points: int = 200) -> tuple[np.ndarray, int, float] | None:
    """Correction ``C`` (3x3) that best explains a residual flow by a homography.

    ``flow`` maps frame pixel ``q`` to ``q + flow[q]`` in an image already warped by the current estimate; the
    refined still-to-frame transform is ``C @ current`` where ``C`` maps ``q + flow[q]`` back to ``q``. Only
    ``reliable`` pixels on a ``step`` grid take part, fitted with RANSAC and then least squares on the inliers
    (the dominant plane wins; local motion stays in the residual flow). Returns (C, inliers, inlier RMS px) or
    None when too few reliable pixels exist."""
    h, w = flow.shape[:2]
    sel = np.zeros((h, w), bool)
    sel[step // 2::step, step // 2::step] = True
    sel &= reliable
    if np.count_nonzero(sel) < min_points:
        return None
    gx, gy = grid((h, w))
    q = np.stack([gx[sel], gy[sel]], axis=1).astype(np.float64)
    r = q + flow[sel].astype(np.float64)
    c, mask = cv2.findHomography(r, q, cv2.RANSAC, threshold_px, maxIters=2000, confidence=0.999)
    if c is None:
        return None
    keep = mask.ravel().astype(bool)
    if keep.sum() < min_points // 2:
        return None
    c, _ = cv2.findHomography(r[keep], q[keep], 0)  # least squares on the inliers: sub-pixel
    if c is None:
        return None
    c /= c[2, 2]
    px, py = apply_homography(c, r[keep, 0], r[keep, 1])
    rms = float(np.sqrt(np.mean((px - q[keep, 0]) ** 2 + (py - q[keep, 1]) ** 2)))
    return c, int(keep.sum()), rms
