"""The gain map in the form an output format stores: Apple's auxiliary image, or hdrgm / ISO 21496-1 parameters.

A map keeps its own pixels and parameters whenever the output can describe them (an iPhone map that came with
ISO 21496-1 parameters is written with both descriptions over the same pixels, as iOS 18 does). Only a map that
the output format cannot describe is re-encoded, through a 256-entry table over its 8-bit samples:

* Apple's convention (Apple, "Applying Apple HDR effect to your photos"): HDR = SDR x (1 + (H - 1) g^2.2) in
  linear light, H the headroom, g the sample in 0..1 (the 2.2 exponent is the one core/hdr reads Apple maps with).
* hdrgm / ISO 21496-1: HDR + k_hdr = (SDR + k_sdr) x 2^G, G = min + (max - min) g^(1/gamma) stops.

Apple -> hdrgm is exact (G = log2(1 + (H - 1) g^2.2), stored with gamma 1 between 0 and log2 H, zero offsets).
hdrgm -> Apple drops the offsets (1/64 by default: they matter only in deep shadows) and clips gains below
zero stops, which Apple's form cannot express; a three-channel map becomes one channel by Rec. 709 luma weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from livemoments_app.core.hdr.apple import APPLE_GAMMA
from livemoments_app.core.hdr.encoding import apple_stops, iso_stops
from livemoments_app.core.hdr.model import AppleGainMapInfo, GainMap, IsoGainMapParams

_LUMA = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class AppleForm:
    pixels: np.ndarray          # uint8 H x W
    headroom: float             # linear, > 1
    info: AppleGainMapInfo


@dataclass(frozen=True)
class IsoForm:
    pixels: np.ndarray          # uint8 H x W or H x W x 3
    params: IsoGainMapParams
    alternate_icc: bytes | None = None      # the HDR rendition's ICC profile, as the source's 'tmap' gave it


def apple_form(gain_map: GainMap) -> AppleForm | None:
    """The map as Apple's auxiliary image; None when it brightens nothing (no headroom above SDR white)."""
    if gain_map.kind == "apple":
        grey = gain_map.pixels if gain_map.pixels.ndim == 2 else _luma_u8(gain_map.pixels)
        if gain_map.headroom <= 1.0:
            return None
        return AppleForm(np.ascontiguousarray(grey), float(gain_map.headroom), gain_map.apple or AppleGainMapInfo())
    params = gain_map.iso
    if params is None or params.base_is_hdr or not _usable(params):
        return None
    channels = 1 if gain_map.pixels.ndim == 2 else gain_map.pixels.shape[2]
    stops = max(max(params.gain_max), 0.0)
    if stops <= 0.0:
        return None
    headroom = 2.0 ** stops
    if channels == 1:
        gains = iso_stops(params, 0)[gain_map.pixels]
    else:
        gains = sum(w * iso_stops(params, c)[gain_map.pixels[:, :, c]] for c, w in enumerate(_LUMA))
    linear = np.clip((np.exp2(gains) - 1.0) / (headroom - 1.0), 0.0, 1.0)
    pixels = np.rint(linear ** (1.0 / APPLE_GAMMA) * 255.0).astype(np.uint8)
    return AppleForm(pixels, headroom, AppleGainMapInfo(xmp_headroom=headroom))


def iso_form(gain_map: GainMap) -> IsoForm | None:
    """The map with hdrgm / ISO 21496-1 parameters for an SDR base; None when it cannot be described so."""
    if gain_map.iso is not None:
        if gain_map.iso.base_is_hdr:
            return None
        return IsoForm(gain_map.pixels, gain_map.iso, gain_map.raw.get("tmap_icc"))
    if gain_map.kind != "apple" or gain_map.headroom <= 1.0:
        return None
    stops = math.log2(gain_map.headroom)
    grey = gain_map.pixels if gain_map.pixels.ndim == 2 else _luma_u8(gain_map.pixels)
    table = apple_stops(gain_map.headroom) / stops
    pixels = np.rint(np.clip(table, 0.0, 1.0) * 255.0).astype(np.uint8)[grey]
    params = IsoGainMapParams(gain_min=(0.0,), gain_max=(stops,), gamma=(1.0,), offset_sdr=(0.0,),
                              offset_hdr=(0.0,), capacity_min=0.0, capacity_max=stops)
    return IsoForm(pixels, params)


def _usable(params: IsoGainMapParams) -> bool:
    values = (*params.gain_min, *params.gain_max, *params.gamma)
    return all(math.isfinite(v) for v in values) and all(g > 0 for g in params.gamma)


def _luma_u8(rgb: np.ndarray) -> np.ndarray:
    weights = np.asarray(_LUMA, dtype=np.float32)
    return np.rint(rgb.astype(np.float32) @ weights).clip(0, 255).astype(np.uint8)
