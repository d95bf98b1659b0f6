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
    peak = rgb_small.max(axis=2)
    n = float(peak.size)
    luma = rgb_small.mean(axis=2)
    return ExposureStats(float(np.count_nonzero(peak >= HIGHLIGHT)) / n, float(np.count_nonzero(peak <= SHADOW)) / n,
                         float(luma.mean()) / 255.0)


def excess(stats: list[ExposureStats]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: clipped share above the clip's least-clipped frame, crushed share above the least-crushed one,
    and the level's distance (in stops) from the clip's median level."""
    clipped = np.array([s.clipped for s in stats])
    crushed = np.array([s.crushed for s in stats])
    level = np.array([max(s.level, 1e-3) for s in stats])
    stops = np.abs(np.log2(level / float(np.median(level))))
    return clipped - clipped.min(), crushed - crushed.min(), stops
