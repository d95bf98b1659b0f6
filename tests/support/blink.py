"""Generated blinks: a real face photo with its eyes closed, for testing and benchmarking the eye-openness part.

The upper eyelid is pulled down onto the lower one by a smooth vertical warp of the skin between the brow and the
lid (what a closing lid does), found with the face mesh's eyelid points, and a faint lash line is drawn where the
lids meet. ``amount`` 1 closes the eye, 0.5 half closes it. On skimage's astronaut (public domain) this gives a
closed-eye face that the mesh measures at an eye aspect ratio of ~0.08 against ~0.29 open.
"""

from __future__ import annotations

import cv2
import numpy as np

# Face-mesh eyelid contours, corner to corner (the person's right eye first; MediaPipe canonical mesh indices).
RIGHT_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)


def _curve(pts: np.ndarray, idx: tuple[int, ...], xs: np.ndarray) -> np.ndarray:
    p = pts[list(idx)]
    order = np.argsort(p[:, 0])
    return np.interp(xs, p[order, 0], p[order, 1])


def close_eyes(rgb: np.ndarray, landmarks: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """``rgb`` with both eyes of the face whose 468 mesh points are ``landmarks`` (pixels) closed by ``amount``."""
    h, w = rgb.shape[:2]
    map_y = np.mgrid[0:h, 0:w][0].astype(np.float32)
    lash = np.zeros((h, w), np.float32)
    for upper, lower in ((RIGHT_UPPER, RIGHT_LOWER), (LEFT_UPPER, LEFT_LOWER)):
        p = landmarks[list(upper) + list(lower)]
        x0, x1 = int(np.floor(p[:, 0].min())) - 2, int(np.ceil(p[:, 0].max())) + 3
        width = x1 - x0
        xs = np.arange(x0, x1, dtype=np.float64)
        up = _curve(landmarks, upper, xs)
        lo = _curve(landmarks, lower, xs)
        gap = np.clip(lo - up, 0, None) * amount
        # fade the pull out towards the corners so the warp has no seam
        fade = np.clip(np.minimum(xs - x0, x1 - 1 - xs) / (0.15 * width), 0, 1)
        gap *= fade
        reach = 0.7 * width                    # how far above the lid the skin is stretched (to about the brow)
        new_edge = up + gap
        for k, x in enumerate(range(x0, x1)):
            if not 0 <= x < w or gap[k] <= 0.2:
                continue
            top = int(max(0, np.floor(up[k] - reach)))
            bottom = int(min(h - 1, np.ceil(new_edge[k])))
            ys = np.arange(top, bottom + 1, dtype=np.float32)
            t = np.clip((ys - (up[k] - reach)) / (new_edge[k] - (up[k] - reach)), 0, 1)
            map_y[top:bottom + 1, x] = ys - gap[k] * t
            yl = int(round(new_edge[k]))
            if 0 <= yl < h:
                lash[yl, x] = amount
    map_x = np.mgrid[0:h, 0:w][1].astype(np.float32)
    out = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    lash = cv2.GaussianBlur(lash, (0, 0), 0.8)
    lash = np.clip(lash / max(float(lash.max()), 1e-6), 0, 1)[..., None] * 0.45
    return np.clip(out.astype(np.float32) * (1 - lash), 0, 255).astype(np.uint8)
