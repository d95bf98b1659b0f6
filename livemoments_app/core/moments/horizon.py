"""The key photo's horizon: the angle of its long near-level lines, when there are enough of them to trust.

A frame's tilt is its rotation against the key frame plus the key photo's own horizon angle, so a frame that
turned back to level scores better than the key photo, and a scene without level lines (a face, foliage) has no
tilt part at all rather than a guessed one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MAX_ANGLE = 10.0        # degrees from level: steeper lines are not taken for a horizon
MIN_LENGTH = 0.6        # total length of agreeing lines, in widths of the frame, for the horizon to count
MAX_SPREAD = 1.0        # degrees: weighted spread of the agreeing lines' angles


def horizon_angle(gray: np.ndarray) -> float | None:
    """Angle (degrees, counter-clockwise on screen) of the dominant level lines of ``gray`` (8-bit), or None."""
    h, w = gray.shape
    edges = cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 1.2), 60, 150)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 720, threshold=60, minLineLength=int(0.2 * w), maxLineGap=6)
    if lines is None:
        return None
    seg = np.asarray(lines, np.float64).reshape(-1, 4)
    dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
    length = np.hypot(dx, dy)
    # y points down on screen: a line rising to the right has dy < 0 and a positive (counter-clockwise) angle
    angle = np.degrees(np.arctan2(-dy, dx))
    angle = (angle + 90.0) % 180.0 - 90.0
    level = np.abs(angle) <= MAX_ANGLE
    if not level.any():
        return None
    a, L = angle[level], length[level]
    centre = float(np.median(np.repeat(a, np.maximum(1, (L / 4).astype(int)))))
    agree = np.abs(a - centre) <= 2.0
    if L[agree].sum() < MIN_LENGTH * w:
        return None
    mean = float(np.average(a[agree], weights=L[agree]))
    spread = math.sqrt(float(np.average((a[agree] - mean) ** 2, weights=L[agree])))
    return mean if spread <= MAX_SPREAD else None
