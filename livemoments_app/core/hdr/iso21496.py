"""ISO 21496-1 gain-map metadata in its binary form, read and written, as HEIF 'tmap' items and Ultra HDR JPEG
APP2 segments carry it.

Layout (the form libheif, libavif and libultrahdr read and write; big-endian): [version u8, HEIF only]
minimum_version u16, writer_version u16, flags u8 (bit 7 multichannel, bit 6 use base colour space, bit 3 common
denominator, bit 2 backward direction: the base is the HDR rendition), then the base and alternate HDR headrooms
and, per channel, gain-map min and max, gamma, base and alternate offsets as fractions (signed where a value can be
below zero) -- each with its own u32 denominator, or one shared denominator when bit 3 is set. Headrooms, minima
and maxima are log2 values. A JPEG gain-map image carries the same bytes after the ``urn:iso:std:iso:ts:21496:-1``
name, the primary JPEG only the two version fields (libultrahdr's layout).
"""

from __future__ import annotations

import math
import struct

from livemoments_app.core.hdr.model import IsoGainMapParams

URN = b"urn:iso:std:iso:ts:21496:-1\x00"      # before the metadata in a JPEG APP2 segment
VERSION_ONLY = struct.pack(">HH", 0, 0)         # minimum_version, writer_version: the primary JPEG's block

_MULTICHANNEL = 0x80
_BASE_COLOUR_SPACE = 0x40
_COMMON_DENOMINATOR = 0x08
_BACKWARD = 0x04


class IsoMetadataError(ValueError):
    """The bytes are not ISO 21496-1 metadata this reader understands (the caller names the file)."""


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise IsoMetadataError(f"ISO 21496-1 metadata cut short at byte {self.pos} of {len(self.data)}")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value


def _fraction(numerator: int, denominator: int) -> float:
    if denominator == 0:
        raise IsoMetadataError("ISO 21496-1 metadata has a fraction with denominator 0")
    return numerator / denominator


def parse(data: bytes, *, with_version: bool) -> IsoGainMapParams | None:
    """The parameters in ``data`` (a 'tmap' item's payload with ``with_version``, a JPEG APP2 body after the URN
    without); None for the short form that only announces a version (the primary image's APP2 in Ultra HDR)."""
    r = _Reader(bytes(data))
    if with_version:
        version = r.take(">B")
        if version != 0:
            raise IsoMetadataError(f"ISO 21496-1 metadata version {version} is not supported")
    minimum_version = r.take(">H")
    r.take(">H")    # writer_version
    if minimum_version != 0:
        raise IsoMetadataError(f"ISO 21496-1 metadata needs a reader of version {minimum_version}")
    if r.pos == len(r.data):
        return None
    flags = r.take(">B")
    channels = 3 if flags & _MULTICHANNEL else 1
    if flags & _COMMON_DENOMINATOR:
        den = r.take(">I")
        base_headroom = _fraction(r.take(">I"), den)
        alternate_headroom = _fraction(r.take(">I"), den)
        per_channel = [tuple(_fraction(r.take(fmt), den) for fmt in (">i", ">i", ">I", ">i", ">i"))
                       for _ in range(channels)]
    else:
        base_headroom = _fraction(r.take(">I"), r.take(">I"))
        alternate_headroom = _fraction(r.take(">I"), r.take(">I"))
        per_channel = [tuple(_fraction(r.take(fmt), r.take(">I")) for fmt in (">i", ">i", ">I", ">i", ">i"))
                       for _ in range(channels)]
    gain_min, gain_max, gamma, base_offset, alternate_offset = (tuple(c[k] for c in per_channel) for k in range(5))
    if any(g <= 0 for g in gamma) or any(hi < lo for lo, hi in zip(gain_min, gain_max)):
        raise IsoMetadataError("ISO 21496-1 metadata has a gamma <= 0 or a maximum below its minimum")
    backward = bool(flags & _BACKWARD)
    # hdrgm's names (offset_sdr/offset_hdr, capacity min/max) are by rendition, ISO's by base/alternate.
    return IsoGainMapParams(
        gain_min=gain_min, gain_max=gain_max, gamma=gamma,
        offset_sdr=alternate_offset if backward else base_offset,
        offset_hdr=base_offset if backward else alternate_offset,
        capacity_min=alternate_headroom if backward else base_headroom,
        capacity_max=base_headroom if backward else alternate_headroom,
        base_is_hdr=backward, use_base_colour_space=bool(flags & _BASE_COLOUR_SPACE))


# ------------------------------------------------------------------------------------------------ writing

_DENOMINATOR = 1_000_000     # a millionth of a stop is far below what an 8-bit map resolves


def _to_fraction(value: float, signed: bool) -> tuple[int, int]:
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
    """The metadata after the version byte / namespace (minimum_version onwards); ValueError for parameters the
    fields cannot hold. Only an SDR base is written (its headroom is ``capacity_min``, the alternate's
    ``capacity_max``)."""
    n = _channels(params)
    if params.base_is_hdr:
        # The stored map's sign and orientation follow the hdrgm convention (log HDR/SDR); ISO's is log
        # alternate/base, which for an HDR base needs a different map, not only different numbers.
        raise ValueError("an HDR base rendition cannot be described in ISO 21496-1 without a new gain map")
    flags = (_MULTICHANNEL if n == 3 else 0) | (_BASE_COLOUR_SPACE if params.use_base_colour_space else 0)
    out = bytearray(VERSION_ONLY + bytes([flags]))
    for value in (params.capacity_min, params.capacity_max):
        out += struct.pack(">II", *_to_fraction(value, signed=False))
    gmin, gmax = _per_channel(params.gain_min, n), _per_channel(params.gain_max, n)
    gamma = _per_channel(params.gamma, n)
    boff, aoff = _per_channel(params.offset_sdr, n), _per_channel(params.offset_hdr, n)
    for c in range(n):
        out += struct.pack(">iI", *_to_fraction(gmin[c], signed=True))
        out += struct.pack(">iI", *_to_fraction(gmax[c], signed=True))
        out += struct.pack(">II", *_to_fraction(gamma[c], signed=False))
        out += struct.pack(">iI", *_to_fraction(boff[c], signed=True))
        out += struct.pack(">iI", *_to_fraction(aoff[c], signed=True))
    return bytes(out)


def tmap_payload(params: IsoGainMapParams) -> bytes:
    """The body of a HEIF 'tmap' derived item."""
    return b"\x00" + encode(params)
