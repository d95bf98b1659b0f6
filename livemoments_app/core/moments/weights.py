"""The one place where the parts of a frame's score are weighted and shaped.

How these were chosen: ``python -m benchmarks.moments_quality --fit`` scores the labelled benchmark (real sample
clips with frames replaced by motion-blurred, defocused and over-exposed copies of themselves, and a face clip with
generated blinks; 82 (damaged, clean neighbour) pairs) under every combination of sharpness, faces and
restorability in {1, 2, 3, 4} / {0.5, 1, 1.5, 2} and exposure in {0.5, 1, 2, 3}, by the AUC of "the clean neighbour
scores higher". Many combinations reach AUC 1.0 there (the earlier hand-set 3 / 3 / 1.5 / 2 gave 0.988); of those,
the most even one is kept -- sharpness = faces = restorability = 2 x exposure -- so that no part is made to
dominate by a benchmark that does not exercise it. Framing (tilt) has no labels there and keeps a small weight.
What the benchmark does not measure: every pair is a damaged frame against its clean neighbour, never a moment
against the key photo, so how restorability should weigh against a better moment elsewhere in the clip is a
choice, not a fit. The key frame's restorability is 1, every other frame's at most the key photo's own fit (0.96-0.98
on the samples) times its aligned share, less a little for distance (0.77-0.95 for the frames next to the key frame):
on the real samples, none with a face, the key photo ranks first, and the app lists the best other moments beside
it (Suggestions.top(key=False)).
"""

from __future__ import annotations

WEIGHTS: dict[str, float] = {
    "sharpness": 2.0,
    "faces": 2.0,
    "restorability": 2.0,
    "exposure": 1.0,
    "framing": 0.5,
}

# Shaping of the raw measurements into parts (0..1, higher is better); see scoring.judge.
SHARPNESS_GAMMA = 2.0         # ratio to the clip's sharpest frame, raised to this (0.9 -> 0.81, 0.7 -> 0.49)
CLIPPED_FULL = 0.10           # 10 % more of the frame clipped than the clip's best frame: exposure part 0
CRUSHED_FULL = 0.20           # the same for crushed shadows
STOPS_FREE = 0.2              # a jump in level (stops from the neighbouring frames') that costs nothing ...
STOPS_FULL = 1.0              # ... and the drift beyond it that costs the whole part
TILT_FREE_DEG = 0.5           # tilt that costs nothing ...
TILT_FULL_DEG = 4.0           # ... and the tilt beyond it that costs the whole framing part
TIME_COST = 0.25              # restorability lost at TIME_FULL_S from the key photo (the restorer's detail fades
TIME_FULL_S = 2.0             # with distance: more motion, more occlusion)


def combine(parts: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """Weighted mean of the parts present (a part that could not be measured drops out)."""
    w = WEIGHTS if weights is None else weights
    total = sum(w[k] for k in parts if k in w)
    if total <= 0:
        return 0.0
    return sum(w[k] * v for k, v in parts.items() if k in w) / total
