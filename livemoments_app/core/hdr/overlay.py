"""A picture of where an HDR display brightens a photo: the gain map in colour over the photo in grey, as Lightroom's
"Visualize HDR" shows it -- dark violet for no boost through orange to pale yellow at the full headroom."""

from __future__ import annotations

import cv2
import numpy as np

from livemoments_app.core.align.pixels import to_rgb_u8
from livemoments_app.core.hdr import encoding
from livemoments_app.core.hdr.model import GainMap

TINT = 0.6          # share of the colour in the overlay; the rest is the photo's own lightness, for orientation


def boost_colours(stops: np.ndarray, top: float) -> np.ndarray:
    """RGB uint8 colours for gains in stops, 0 .. ``top`` over the whole colour scale (inferno)."""
    scaled = np.clip(stops / max(top, 1e-3), 0.0, 1.0)
    index = np.ascontiguousarray((scaled * 255 + 0.5).astype(np.uint8))
    return cv2.applyColorMap(index, cv2.COLORMAP_INFERNO)[..., ::-1]


def boost_overlay(pixels: np.ndarray, gain_map: GainMap) -> np.ndarray:
    """``pixels`` (the picture the map belongs to, any size) with its gain map laid over it: H x W x 3 uint8."""
    rgb = to_rgb_u8(pixels)
    h, w = rgb.shape[:2]
    stops = encoding.to_stops(gain_map)
    if stops.ndim == 3:
        stops = stops.max(axis=2)
    colours = cv2.resize(boost_colours(stops, gain_map.headroom_stops), (w, h), interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return cv2.addWeighted(colours, TINT, grey, 1.0 - TINT, 0.0)
