"""Which frames of a clip are worth choosing: a score per frame, with its parts and reasons a person can read.

``suggest(live)`` reads every frame of the clip once (at reduced size) and measures, per frame:

* **sharpness**: detail and motion blur, whole frame and tile by tile (the main subject: faces where found),
  relative to the clip's own best frame, so a dark or soft clip is judged against itself;
* **faces**: eyes open, looking at the camera, smiling (MediaPipe's face mesh run by OpenCV's TFLite reader;
  without it faces drop out of the score with a note);
* **restorability**: the share of the frame the key photo can restore (frame-to-key-frame flow at low resolution,
  checked forward-backward and photometrically like the alignment module does), and the distance in time;
* **exposure / framing**: clipped highlights and crushed shadows against the clip's best, tilt against the key
  photo's horizon where one is found.

The parts are combined with the weights in :mod:`~livemoments_app.core.moments.weights`. Nothing here imports Qt;
OpenCV and the models are imported when scoring starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from livemoments_app.core.moments.model import FrameScore, Suggestions
from livemoments_app.core.moments.scoring import MomentOptions   # numpy only: OpenCV loads when scoring starts

if TYPE_CHECKING:
    from livemoments_app.core.align import Alignment
    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.livephoto.model import LivePhoto

__all__ = ["FrameScore", "MomentOptions", "Suggestions", "suggest"]


def suggest(live: "LivePhoto", progress: "Progress | None" = None, *,
            alignments: "Mapping[int, Alignment] | None" = None,
            options: "MomentOptions | None" = None) -> Suggestions:
    """Score every frame of ``live``'s clip (see the module docstring). Cancellable through ``progress``.

    ``alignments``: full alignments already made for some frames (frame index -> Alignment, e.g. the editor's):
    their aligned share replaces the low-resolution estimate for those frames. Raises
    :class:`~livemoments_app.core.errors.DecodeError` when the clip cannot be decoded."""
    from livemoments_app.core.moments.scoring import score_clip

    return score_clip(live, progress, alignments=alignments, options=options)
