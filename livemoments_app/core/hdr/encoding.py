"""Gain-map samples <-> gains in stops (log2 of HDR over SDR), with the parameters of the map they belong to.

Everything that changes a gain map (warping, blending, a map derived from the clip) works in stops, where
averaging is meaningful, and encodes back with the key photo's own parameters, so the result means what the
original meant to every reader. With ISO 21496-1 / hdrgm parameters: ``stops = min + (max - min) * (v / 255) **
(1 / gamma)`` and ``HDR = (SDR + offset_sdr) * 2 ** stops - offset_hdr``. Apple's own form (no ISO parameters):
``HDR = SDR * (1 + (headroom - 1) * (v / 255) ** 2.2)`` (see :mod:`.apple`).
"""

from __future__ import annotations

import numpy as np

from livemoments_app.core.hdr.apple import APPLE_GAMMA
from livemoments_app.core.hdr.model import GainMap, IsoGainMapParams

_CODES = np.arange(256, dtype=np.float64) / 255.0


def _pick(values: tuple[float, ...], channel: int) -> float:
    return float(values[min(channel, len(values) - 1)])


def iso_stops(params: IsoGainMapParams, channel: int = 0) -> np.ndarray:
    """float64[256]: the gain in stops of each 8-bit sample of ``channel`` under ISO 21496-1 / hdrgm parameters."""
    lo, hi = _pick(params.gain_min, channel), _pick(params.gain_max, channel)
    return lo + (hi - lo) * _CODES ** (1.0 / _pick(params.gamma, channel))


def apple_stops(headroom: float) -> np.ndarray:
    """float64[256]: the gain in stops of each 8-bit sample of an Apple map with this linear headroom."""
    return np.log2(1.0 + (max(headroom, 1.0) - 1.0) * _CODES ** APPLE_GAMMA)


def stops_table(gm: GainMap, channel: int = 0) -> np.ndarray:
    """float32[256]: the gain in stops of each 8-bit sample value (increasing with the value)."""
    iso = gm.iso
    if iso is not None and not iso.base_is_hdr:
        return iso_stops(iso, channel).astype(np.float32)
    return apple_stops(gm.headroom).astype(np.float32)


def offsets(gm: GainMap, channel: int = 0) -> tuple[float, float]:
    """(offset_sdr, offset_hdr) of the gain equation (0, 0 for Apple's form)."""
    iso = gm.iso
    if iso is None or iso.base_is_hdr:
        return 0.0, 0.0
    return _pick(iso.offset_sdr, channel), _pick(iso.offset_hdr, channel)


def stops_range(gm: GainMap) -> tuple[float, float]:
    """The smallest and largest gain the map's encoding can hold, in stops."""
    tables = [stops_table(gm, c) for c in range(gm.channels)]
    return float(min(t[0] for t in tables)), float(max(t[-1] for t in tables))


def to_stops(gm: GainMap) -> np.ndarray:
    """float32 gains in stops, shaped like ``gm.pixels``."""
    if gm.pixels.ndim == 2:
        return stops_table(gm)[gm.pixels]
    out = np.empty(gm.pixels.shape, np.float32)
    for c in range(gm.pixels.shape[2]):
        out[..., c] = stops_table(gm, c)[gm.pixels[..., c]]
    return out


_ENCODE_STEPS = 65536       # resolution of the encoding table: ~0.00005 stops over a 3-stop range


def _encode_channel(stops: np.ndarray, table: np.ndarray) -> np.ndarray:
    # The nearest code in stops (the table is increasing), through a fine table of the stops range so that a 3 MP
    # map encodes in ~15 ms: decoding what this encodes gives back the same code (but for codes closer than the
    # table's step, where Apple's curve is flat near 0 stops).
    lo, hi = float(table[0]), float(table[-1])
    if hi <= lo:
        return np.zeros(stops.shape, np.uint8)
    fine = np.linspace(lo, hi, _ENCODE_STEPS, dtype=np.float64)
    codes = np.searchsorted((table[:-1].astype(np.float64) + table[1:]) / 2, fine).astype(np.uint8)
    scale = np.float32((_ENCODE_STEPS - 1) / (hi - lo))
    index = (np.asarray(stops, np.float32) - np.float32(lo)) * scale + np.float32(0.5)
    np.clip(index, 0, _ENCODE_STEPS - 1, out=index)
    return codes[index.astype(np.int32)]


def from_stops(stops: np.ndarray, like: GainMap) -> np.ndarray:
    """uint8 samples encoding ``stops`` (H x W, or H x W x C) with the parameters of ``like``; gains outside what
    the encoding holds are clipped to its range."""
    if stops.ndim == 2:
        return _encode_channel(stops, stops_table(like))
    out = np.empty(stops.shape, np.uint8)
    for c in range(stops.shape[2]):
        out[..., c] = _encode_channel(stops[..., c], stops_table(like, c))
    return out
