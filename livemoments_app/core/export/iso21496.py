"""Writing ISO 21496-1 gain-map metadata in its binary form, as HEIF 'tmap' items and JPEG APP2 segments carry it.

Layout (big-endian): minimum_version u16, writer_version u16, flags u8 (0x80 three channels, 0x40 apply the map in
the base image's colour space), then the base and alternate HDR headrooms and, per channel, gain-map min/max, gamma
and the base/alternate offsets, each a fraction (signed where a value can be below zero). A HEIF 'tmap' item puts a
version byte (0) in front; a JPEG gain-map image carries the same bytes after the ``urn:iso:std:iso:ts:21496:-1``
name, and the primary JPEG only the two version fields (libultrahdr's layout). Reading is core/hdr's job.

Headrooms and gains are log2 (stops) as in :class:`IsoGainMapParams`; only an SDR base is written (its headroom is
``capacity_min``, the alternate's ``capacity_max``).
"""

from __future__ import annotations

import math
import struct

from livemoments_app.core.hdr.iso_metadata import URN as JPEG_NAMESPACE  # noqa: F401  (one name, reader and writer)
from livemoments_app.core.hdr.model import IsoGainMapParams

VERSION_ONLY = struct.pack(">HH", 0, 0)         # minimum_version, writer_version
_MULTICHANNEL = 0x80
_BASE_COLOUR_SPACE = 0x40
_DENOMINATOR = 1_000_000     # a millionth of a stop is far below what an 8-bit map resolves


def _fraction(value: float, signed: bool) -> tuple[int, int]:
    """(numerator, denominator) within the 32-bit fields, in millionths as iOS writes them."""
    if not math.isfinite(value):
        raise ValueError(f"gain-map value {value} is not finite")
    if not signed and value < 0:
        raise ValueError(f"gain-map value {value} cannot be negative")
    limit = (1 << 31) - 1 if signed else (1 << 32) - 1
    denominator = _DENOMINATOR
    while denominator > 1 and abs(round(value * denominator)) > limit:
        denominator //= 10
    numerator = round(value * denominator)
    if abs(numerator) > limit:
        raise ValueError(f"gain-map value {value} does not fit the ISO 21496-1 fields")
    return numerator, denominator


def _channels(params: IsoGainMapParams) -> int:
    fields = (params.gain_min, params.gain_max, params.gamma, params.offset_sdr, params.offset_hdr)
    if any(len(f) not in (1, 3) for f in fields):
        raise ValueError("gain-map parameters hold 1 or 3 values per field")
    if all(len(set(f)) == 1 for f in fields):
        return 1
    return 3


def _per_channel(values: tuple[float, ...], n: int) -> tuple[float, ...]:
    return values * 3 if len(values) == 1 and n == 3 else values[:n]


def encode(params: IsoGainMapParams) -> bytes:
    """The metadata after the version byte / namespace (minimum_version onwards)."""
    n = _channels(params)
    base_headroom, alt_headroom = params.capacity_min, params.capacity_max
    base_offset, alt_offset = params.offset_sdr, params.offset_hdr
    if params.base_is_hdr:
        # The stored map's sign and orientation follow the hdrgm convention (log HDR/SDR); ISO's is log
        # alternate/base, which for an HDR base needs a different map, not only different numbers.
        raise ValueError("an HDR base rendition cannot be described in ISO 21496-1 without a new gain map")
    # getattr: the field joins IsoGainMapParams with the gain-map readers (True is hdrgm's and Apple's choice).
    base_space = getattr(params, "use_base_colour_space", True)
    flags = (_MULTICHANNEL if n == 3 else 0) | (_BASE_COLOUR_SPACE if base_space else 0)
    out = bytearray(VERSION_ONLY + bytes([flags]))
    for value in (base_headroom, alt_headroom):
        out += struct.pack(">II", *_fraction(value, signed=False))
    gmin, gmax = _per_channel(params.gain_min, n), _per_channel(params.gain_max, n)
    gamma = _per_channel(params.gamma, n)
    boff, aoff = _per_channel(base_offset, n), _per_channel(alt_offset, n)
    for c in range(n):
        out += struct.pack(">iI", *_fraction(gmin[c], signed=True))
        out += struct.pack(">iI", *_fraction(gmax[c], signed=True))
        out += struct.pack(">II", *_fraction(gamma[c], signed=False))
        out += struct.pack(">iI", *_fraction(boff[c], signed=True))
        out += struct.pack(">iI", *_fraction(aoff[c], signed=True))
    return bytes(out)


def tmap_payload(params: IsoGainMapParams) -> bytes:
    """The body of a HEIF 'tmap' derived item."""
    return b"\x00" + encode(params)
