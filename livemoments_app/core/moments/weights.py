"""The one place where the parts of a frame's score are weighted and shaped.

How these were chosen (``python -m benchmarks.moments_quality --fit`` prints the table): on the labelled benchmark
(real sample clips with frames replaced by motion-blurred, defocused and over-exposed copies of themselves, and a
face clip with generated blinks), every combination of the weights on a 0.5-step grid was scored by the AUC of
"damaged frame ranks below its clean neighbours"; among the combinations within 0.005 of the best AUC, the one
closest to equal weights was kept (so that no part is dropped because the benchmark happens not to exercise it:
restorability and framing carry no labels there and keep the weight the user study-free default gives them).
"""

from __future__ import annotations

WEIGHTS: dict[str, float] = {
    "sharpness": 3.0,
    "faces": 3.0,
    "restorability": 1.5,
    "exposure": 2.0,
    "framing": 0.5,
}

# Shaping of the raw measurements into parts (0..1, higher is better); see scoring.parts_for.
SHARPNESS_GAMMA = 2.0         # ratio to the clip's sharpest frame, raised to this (0.9 -> 0.81, 0.7 -> 0.49)
CLIPPED_FULL = 0.10           # 10 % more of the frame clipped than the clip's best frame: exposure part 0
CRUSHED_FULL = 0.20           # the same for crushed shadows
STOPS_FREE = 0.2              # level drift (stops from the clip's median) that costs nothing ...
STOPS_FULL = 1.0              # ... and the drift beyond it that costs the whole part
TILT_FREE_DEG = 0.5           # tilt that costs nothing ...
TILT_FULL_DEG = 4.0           # ... and the tilt beyond it that costs the whole framing part
TIME_COST = 0.25              # restorability lost at TIME_FULL_S from the key photo (the restorer's detail fades
TIME_FULL_S = 2.0             # with distance: more motion, more occlusion)


def combine(parts: dict[str, float]) -> float:
    """Weighted mean of the parts present (a part that could not be measured drops out)."""
    total = sum(WEIGHTS[k] for k in parts if k in WEIGHTS)
    if total <= 0:
        return 0.0
    return sum(WEIGHTS[k] * v for k, v in parts.items() if k in WEIGHTS) / total
