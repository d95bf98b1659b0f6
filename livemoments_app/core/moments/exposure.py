"""Exposure of one frame: clipped highlights, crushed shadows and overall level, judged against the clip.

A phone adjusts exposure during the clip (a face turning to the window, a flash of sun): frames that clip more of
the picture than the clip's best frame lose detail the key photo may not give back (the restorer trusts the key
photo only where the frame agrees with it). A scene that is contrasty in every frame is not penalised: the
reference is the clip's own least-clipped frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_LINEAR = ((np.arange(256, dtype=np.float32) / 255.0) ** 2.2).astype(np.float32)   # sRGB-ish code -> linear light
LOCAL = 3          # frames either side that make a frame's exposure neighbourhood
HIGHLIGHT = 250    # max(R, G, B) at or above: clipped (8-bit, after the clip's tone curve)
SHADOW = 6         # max(R, G, B) at or below: crushed


@dataclass
class ExposureStats:
    clipped: float        # share of pixels clipped white
    crushed: float        # share crushed black
    level: float          # mean linear-light luma, 0..1


def measure(rgb_small: np.ndarray) -> ExposureStats:
    import cv2

    r, g, b = cv2.split(rgb_small)
    peak = cv2.max(cv2.max(r, g), b)
    n = float(peak.size)
    level = float(cv2.mean(_LINEAR[cv2.cvtColor(rgb_small, cv2.COLOR_RGB2GRAY)])[0])
    return ExposureStats(float(cv2.countNonZero(cv2.compare(peak, HIGHLIGHT, cv2.CMP_GE))) / n,
                         float(cv2.countNonZero(cv2.compare(peak, SHADOW, cv2.CMP_LE))) / n, level)


def excess(stats: list[ExposureStats]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: clipped share above the clip's least-clipped frame, crushed share above the least-crushed one,
    and the level's jump (in stops, signed) from its neighbourhood's median level -- a frame brighter or darker than the
    frames around it is a flash or a flicker; a slow change of exposure through the clip is not."""
    clipped = np.array([s.clipped for s in stats])
    crushed = np.array([s.crushed for s in stats])
    level = np.array([max(s.level, 1e-4) for s in stats])
    n = len(level)
    local = np.array([np.median(level[max(0, i - LOCAL):i + LOCAL + 1]) for i in range(n)])
    stops = np.log2(level / local)
    return clipped - clipped.min(), crushed - crushed.min(), stops
