"""What a gain map is, independent of the file it came from or goes to.

An HDR still is an SDR picture (what every viewer shows) plus a gain map: per pixel, how many stops brighter the
HDR rendition is, scaled to the display's headroom. Readers (core/livephoto) fill a :class:`GainMap`; the restorers'
output gets one made for it (core/hdr); writers (core/export) store it in the form the output format allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

APPLE_AUX_URN = "urn:com:apple:photo:2020:aux:hdrgainmap"
KINDS = ("apple", "iso21496", "ultrahdr")
KIND_NAMES = {"apple": "Apple gain map", "iso21496": "ISO 21496-1 gain map", "ultrahdr": "Ultra HDR gain map"}


@dataclass(frozen=True)
class IsoGainMapParams:
    """ISO 21496-1 (and Adobe/Google 'hdrgm' XMP) parameters. Per-channel tuples hold 1 or 3 values; gains and
    capacities are log2 (stops), as both specifications store them."""

    gain_min: tuple[float, ...] = (0.0,)
    gain_max: tuple[float, ...] = (1.0,)
    gamma: tuple[float, ...] = (1.0,)
    offset_sdr: tuple[float, ...] = (1 / 64,)
    offset_hdr: tuple[float, ...] = (1 / 64,)
    capacity_min: float = 0.0
    capacity_max: float = 1.0
    base_is_hdr: bool = False
    use_base_colour_space: bool = True      # ISO 21496-1 flag: the gain applies in the base image's primaries

    @property
    def channels(self) -> int:
        return max(len(self.gain_min), len(self.gain_max), len(self.gamma), len(self.offset_sdr),
                   len(self.offset_hdr))


@dataclass(frozen=True)
class AppleGainMapInfo:
    """Apple's own description of its auxiliary gain map: the XMP of the gain-map item and two maker-note values
    of the primary image (0x0021 HDRHeadroom, 0x0030 HDRGain) from which the headroom in stops follows."""

    version: int | None = None              # XMP HDRGainMap:HDRGainMapVersion (131072 on iOS 18)
    xmp_headroom: float | None = None       # XMP HDRGainMap:HDRGainMapHeadroom
    maker_headroom: float | None = None     # maker note 0x0021
    maker_gain: float | None = None         # maker note 0x0030


@dataclass
class GainMap:
    """A gain map with what is needed to apply it and to write it again."""

    pixels: np.ndarray                      # uint8, H x W (one channel) or H x W x 3, as stored, upright like the still
    kind: str                               # one of KINDS: the form it was read from
    headroom: float                         # the HDR rendition's peak over SDR white, linear (e.g. 2**1.75)
    iso: IsoGainMapParams | None = None     # when the file carries ISO 21496-1 / hdrgm parameters
    apple: AppleGainMapInfo | None = None   # when it is (or also is) Apple's auxiliary image
    raw: dict[str, bytes] = field(default_factory=dict)   # metadata blobs as read, for faithful writing

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown gain map kind {self.kind!r} (known: {', '.join(KINDS)})")
        if self.pixels.dtype != np.uint8 or self.pixels.ndim not in (2, 3):
            raise ValueError(f"a gain map is 8-bit grey or RGB, got {self.pixels.dtype} {self.pixels.shape}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[2])

    @property
    def headroom_stops(self) -> float:
        return float(np.log2(max(self.headroom, 1.0)))

    def with_pixels(self, pixels: np.ndarray) -> "GainMap":
        """The same parameters over new pixels (a restored frame's map keeps the key photo's headroom)."""
        return replace(self, pixels=np.ascontiguousarray(pixels, dtype=np.uint8))
