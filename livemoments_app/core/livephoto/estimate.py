"""Key time by image similarity, for a still and a video given explicitly (no stored key time).

The still differs from the frames in more than the moment: another resolution, a field of view shifted by up to
a few tens of video pixels, another tone curve and more sharpness (FORMATS.md, "Still vs video geometry").
So the still is brought into the clip's terms once: downscaled to thumbnail density, registered onto the middle
frame (core.align's feature registration, which also places plain scenes), its grey levels mapped onto that
frame's (histogram matching takes out the tone curve) and blurred to the clip's effective sharpness. Every frame
is then scored by zero-mean normalised correlation of gradient magnitudes inside the area the still covers,
after a per-frame phase-correlation shift: stabilisation moves the picture by a few pixels during a clip, and
without it the frames that happen to sit where the middle frame sits would win.

A static scene scores nearly the same everywhere, so the result says how sure it is: the margin between the best
frame and the best one more than :data:`NEIGHBOURHOOD` frames away. A sub-frame parabola through the peak is not
used: a true local maximum's vertex stays within half a frame, so it cannot change the chosen frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livemoments_app.core.jobs import Progress

THUMB_SIDE = 320          # frames are decoded straight to this size; registration still has detail to use
BLUR_SIGMA = 1.0          # common blur at thumbnail scale, over the codec's and the resampling's differences
EXTRA_BLUR = (0.0, 0.5, 1.0, 1.5)   # extra blur tried on the (sharper) still to meet the clip's sharpness
MAX_SHIFT = 0.08          # per-frame shift larger than this share of the long side is not stabilisation
NEIGHBOURHOOD = 2         # frames this close to the best one are not its rivals
CONFIDENT_MARGIN = 0.05   # best score ahead of every rival by this much: a clear peak
CONFIDENT_SCORE = 0.5     # and correlated at least this well: the still shows this scene at all


@dataclass
class KeyEstimate:
    index: int
    scores: np.ndarray                # one per frame, zero-mean NCC of gradient magnitudes (1.0 = identical)
    runner_up: int                    # best frame more than NEIGHBOURHOOD frames away (-1 if none)
    margin: float                     # scores[index] - scores[runner_up]
    registration: str                 # how the still was placed on the middle frame
    shifts: list = field(default_factory=list)

    @property
    def score(self) -> float:
        return float(self.scores[self.index])

    @property
    def confident(self) -> bool:
        """A clear, well-correlated peak; False means the scene barely changes (or the still is of another
        moment altogether) and the frame is a guess the user should check."""
        return self.margin >= CONFIDENT_MARGIN and self.score >= CONFIDENT_SCORE

    def details(self) -> dict:
        return {"method": "gradient_ncc", "score": round(self.score, 4), "margin": round(self.margin, 4),
                "runner_up_index": self.runner_up, "confident": self.confident, "registration": self.registration}


def _gradient_magnitude(grey: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    g = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), sigma) if sigma > 0 else grey.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _zncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    a = a[mask].astype(np.float64)
    b = b[mask].astype(np.float64)
    if a.size < 16:
        return 0.0
    a -= a.mean()
    b -= b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 1e-9 else 0.0


def _register(small: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, str]:
    """3x3 map from the density-matched still onto the frame; centred when registration refuses."""
    from livemoments_app.core.align.registration import register_features
    from livemoments_app.core.errors import AlignmentError

    try:
        matrix, fm = register_features(small, frame, min_inliers=12, max_side=THUMB_SIDE,
                                       still_small=(small, np.eye(3)))
        return matrix, fm.method
    except AlignmentError:
        # another moment than any frame, or too little shared: the nominal placement is the honest guess
        h, w = frame.shape[:2]
        sh, sw = small.shape[:2]
        return np.array([[1.0, 0.0, (w - sw) / 2.0], [0.0, 1.0, (h - sh) / 2.0], [0.0, 0.0, 1.0]]), "centred"


def _match_histogram(source: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``source`` grey levels remapped so that, inside ``mask``, their distribution is ``reference``'s."""
    src_cdf = np.cumsum(np.bincount(source[mask], minlength=256)).astype(np.float64)
    ref_cdf = np.cumsum(np.bincount(reference[mask], minlength=256)).astype(np.float64)
    if src_cdf[-1] == 0 or ref_cdf[-1] == 0:
        return source
    lut = np.interp(src_cdf / src_cdf[-1], ref_cdf / ref_cdf[-1], np.arange(256))
    return np.clip(lut + 0.5, 0, 255).astype(np.uint8)[source]


def _decode_thumbnails(clip, progress: Progress | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Grey thumbnails of every frame, and the middle frame in colour (for registration)."""
    n = int(clip.frame_count)
    middle = n // 2
    greys: list[np.ndarray] = []
    middle_rgb = None
    from livemoments_app.core.align.pixels import to_gray_u8

    for i, rgb in clip.iter_frames(max_side=THUMB_SIDE):
        greys.append(to_gray_u8(rgb))
        if i == middle:
            middle_rgb = rgb
        if progress is not None and i % 8 == 0:
            progress.set(0.8 * (i + 1) / n, "Matching the photo to the clip")
    return greys, middle_rgb


def estimate_key_frame(still_pixels: np.ndarray, clip, progress: Progress | None = None) -> KeyEstimate:
    """The frame of ``clip`` most like ``still_pixels`` (upright RGB), with how sure that is."""
    import cv2

    from livemoments_app.core.align.pixels import to_u8
    from livemoments_app.core.align.registration import downscale_still

    n = int(clip.frame_count)
    if n <= 1:
        return KeyEstimate(0, np.ones(max(n, 1)), -1, 1.0, "single frame")
    greys, middle_rgb = _decode_thumbnails(clip, progress)
    h, w = greys[0].shape
    # 16-bit stills are compared at 8 bits: the grey-level histogram matching below has 256 bins
    small, _ = downscale_still(to_u8(still_pixels), (h, w))
    matrix, how = _register(small, middle_rgb)
    warped = cv2.cvtColor(cv2.warpPerspective(small, matrix, (w, h), flags=cv2.INTER_LINEAR), cv2.COLOR_RGB2GRAY)
    covered = cv2.warpPerspective(np.full(small.shape[:2], 255, np.uint8), matrix, (w, h),
                                  flags=cv2.INTER_NEAREST)
    # off the still's edge the warp is black; keep the gradient of that edge out of every comparison
    valid = cv2.erode(covered, np.ones((7, 7), np.uint8)) > 0
    if valid.mean() < 0.25:
        valid = np.ones((h, w), bool)
    middle = greys[n // 2]
    warped = _match_histogram(warped, middle, valid)

    # The still is sharper than video; blur it until it correlates best with the middle frame.
    middle_grad = _gradient_magnitude(middle, BLUR_SIGMA)
    sigma = max(EXTRA_BLUR, key=lambda extra: _zncc(
        _gradient_magnitude(warped, float(np.hypot(BLUR_SIGMA, extra))), middle_grad, valid))
    still_grad = _gradient_magnitude(warped, float(np.hypot(BLUR_SIGMA, sigma)))

    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    masked_still = still_grad * valid
    limit = MAX_SHIFT * max(h, w)
    valid_u8 = valid.astype(np.uint8)
    scores = np.zeros(n)
    shifts = []
    for i, grey in enumerate(greys):
        frame_grad = _gradient_magnitude(grey, BLUR_SIGMA)
        (dx, dy), _ = cv2.phaseCorrelate(masked_still, frame_grad * valid, window)
        if np.hypot(dx, dy) > limit:
            dx = dy = 0.0
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        moved = cv2.warpAffine(still_grad, shift, (w, h), flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(valid_u8, shift, (w, h), flags=cv2.INTER_NEAREST) > 0
        scores[i] = _zncc(moved, frame_grad, mask)
        shifts.append((round(float(dx), 2), round(float(dy), 2)))
    if progress is not None:
        progress.set(1.0, "Matched")
    best = int(np.argmax(scores))
    rivals = [j for j in range(n) if abs(j - best) > NEIGHBOURHOOD]
    runner_up = max(rivals, key=lambda j: scores[j]) if rivals else -1
    margin = float(scores[best] - scores[runner_up]) if rivals else 0.0
    return KeyEstimate(best, scores, runner_up, margin, how, shifts)
