"""Exposure of one frame: clipped highlights, crushed shadows and overall level, judged against the clip.

A phone adjusts exposure during the clip (a face turning to the window, a flash of sun): frames that clip more of
the picture than the clip's best frame lose detail the key photo may not give back (the restorer trusts the key
photo only where the frame agrees with it). A scene that is contrasty in every frame is not penalised: the
reference is the clip's own least-clipped frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HIGHLIGHT = 250    # max(R, G, B) at or above: clipped (8-bit, after the clip's tone curve)
SHADOW = 6         # max(R, G, B) at or below: crushed


@dataclass
class ExposureStats:
    clipped: float        # share of pixels clipped white
    crushed: float        # share crushed black
    level: float          # mean luma, 0..1


def measure(rgb_small: np.ndarray) -> ExposureStats:
    import cv2

    r, g, b = cv2.split(rgb_small)
    peak = cv2.max(cv2.max(r, g), b)
    n = float(peak.size)
    level = float(np.mean(cv2.mean(rgb_small)[:3])) / 255.0
    return ExposureStats(float(cv2.countNonZero(cv2.compare(peak, HIGHLIGHT, cv2.CMP_GE))) / n,
                         float(cv2.countNonZero(cv2.compare(peak, SHADOW, cv2.CMP_LE))) / n, level)


def excess(stats: list[ExposureStats]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: clipped share above the clip's least-clipped frame, crushed share above the least-crushed one,
    and the level's distance (in stops) from the clip's median level."""
    clipped = np.array([s.clipped for s in stats])
    crushed = np.array([s.crushed for s in stats])
    level = np.array([max(s.level, 1e-3) for s in stats])
    stops = np.abs(np.log2(level / float(np.median(level))))
    return clipped - clipped.min(), crushed - crushed.min(), stops
