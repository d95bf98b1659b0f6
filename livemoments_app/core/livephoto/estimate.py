"""Key time by image similarity, for a still and a video given explicitly (no stored key time).

The still is reduced to thumbnail size and compared with the clip's thumbnails by normalised correlation of
lightly blurred grey images, which tolerates the exposure/processing differences between photo and video.
Long clips are searched coarse-to-fine so the cost stays bounded.
"""

from __future__ import annotations

import math

import numpy as np

from livemoments_app.core.jobs import Progress

SIDE = 96
COARSE_SAMPLES = 60


def _grey(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint16:
        rgb = (rgb >> 8).astype(np.uint8)
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _crop_to_aspect(img: np.ndarray, aspect: float) -> np.ndarray:
    h, w = img.shape[:2]
    if w / h > aspect:
        nw = max(1, int(round(h * aspect)))
        x = (w - nw) // 2
        return img[:, x:x + nw]
    nh = max(1, int(round(w / aspect)))
    y = (h - nh) // 2
    return img[y:y + nh]


def _normalised(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.0)
    small = small - small.mean()
    norm = float(np.sqrt((small * small).sum()))
    return small / norm if norm > 1e-6 else small


def similarity_scores(still_pixels: np.ndarray, clip, indices) -> dict[int, float]:
    """Normalised correlation between the still and each frame's thumbnail (1.0 = identical)."""
    first = clip.thumbnail(0, max_side=160)
    aspect = first.shape[1] / first.shape[0]
    w = SIDE if aspect >= 1 else max(8, int(round(SIDE * aspect)))
    h = max(8, int(round(w / aspect))) if aspect >= 1 else SIDE
    still = _crop_to_aspect(still_pixels, aspect)
    # Two-step reduction: a 12 MP still straight to 96 px is slow with INTER_AREA; go via ~1/8 first.
    step = max(1, min(still.shape[:2]) // (8 * SIDE))
    still = still[::step, ::step]
    ref = _normalised(_grey(still), (w, h))
    scores = {}
    for i in indices:
        thumb = first if i == 0 else clip.thumbnail(int(i), max_side=160)
        cand = _normalised(_grey(thumb), (w, h))
        scores[int(i)] = float((ref * cand).sum())
    return scores


def estimate_key_index(still_pixels: np.ndarray, clip, progress: Progress | None = None) -> tuple[int, dict]:
    """Index of the frame most similar to the still, and the scores that chose it."""
    n = int(clip.frame_count)
    if n <= 1:
        return 0, {0: 1.0}
    stride = max(1, math.ceil(n / COARSE_SAMPLES))
    coarse = list(range(0, n, stride))
    if progress is not None:
        progress.set(0.0, "Matching the photo to the clip")
    scores = similarity_scores(still_pixels, clip, coarse)
    best = max(scores, key=scores.get)
    if stride > 1:
        fine = [i for i in range(max(0, best - stride + 1), min(n, best + stride)) if i not in scores]
        if progress is not None:
            progress.set(0.5, "Refining the match")
        scores.update(similarity_scores(still_pixels, clip, fine))
        best = max(scores, key=scores.get)
    if progress is not None:
        progress.set(1.0, "Matched")
    return best, scores
