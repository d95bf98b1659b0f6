"""Registration of the key photo onto a chosen frame, dense flow, confidence, warping and overlays.

``align(live_photo, frame_index)`` follows the paper's pipeline (still -> key-time frame once, then flow between
two video frames); ``align_pair(still, frame)`` aligns two plain images. Conventions: see ``warp``.
"""

from livemoments_app.core.align.alignment import AlignOptions, Alignment, align, align_pair, clear_cache
from livemoments_app.core.align.flow import DISFlow, FlowEstimator, RAFTFlow, make_estimator
from livemoments_app.core.align.overlays import (
    MODES as OVERLAY_MODES,
    blend,
    checkerboard,
    confidence_heatmap,
    difference,
    edges,
    flow_colour,
    render as render_overlay,
)

__all__ = [
    "AlignOptions", "Alignment", "align", "align_pair", "clear_cache",
    "DISFlow", "FlowEstimator", "RAFTFlow", "make_estimator",
    "OVERLAY_MODES", "blend", "checkerboard", "confidence_heatmap", "difference", "edges", "flow_colour",
    "render_overlay",
]
