"""Apple's own gain-map conventions (Apple, "Applying Apple HDR effect to your photos").

HDR = SDR x (1 + (headroom - 1) x g) in linear light, g the gain-map sample made linear. The document says the
samples carry the Rec. 709 transfer; Apple's decoder behaves like a 2.2 gamma, and so do the ISO 21496-1 parameters
iOS 18 writes for the same pixels (IMG_4394: within 0.02 stops of the 2.2 curve over the values the map uses, the
Rec. 709 curve is 0.1 stops off), so 2.2 it is.
"""

from __future__ import annotations

import math

APPLE_GAMMA = 2.2
XMP_NS = "http://ns.apple.com/HDRGainMap/1.0/"


def headroom_from_maker_note(maker33: float | None, maker48: float | None) -> float | None:
    """The linear headroom from maker-note tags 0x0021 (HDRHeadroom) and 0x0030 (HDRGain), by Apple's published
    piecewise formula; None when either is missing."""
    if maker33 is None or maker48 is None or not (math.isfinite(maker33) and math.isfinite(maker48)):
        return None
    if maker33 < 1.0:
        stops = -20.0 * maker48 + 1.8 if maker48 <= 0.01 else -0.101 * maker48 + 1.601
    else:
        stops = -70.0 * maker48 + 3.0 if maker48 <= 0.01 else -0.303 * maker48 + 2.303
    return 2.0 ** max(stops, 0.0)
