"""Reading ISO 21496-1 gain-map metadata (binary), as HEIF 'tmap' items and Ultra HDR JPEG APP2 segments carry it.

Layout (the form libheif, libavif and libultrahdr read): [version u8, HEIF only] minimum_version u16, writer_version
u16, flags u8 (bit 7 multichannel, bit 6 use base colour space, bit 3 common denominator, bit 2 backward
direction: the base is the HDR rendition), then the base and alternate HDR headrooms and, per channel, gain-map min
and max, gamma, base and alternate offsets as fractions -- each with its own u32 denominator, or one shared
denominator when bit 3 is set. Headrooms, minima and maxima are log2 values.
"""

from __future__ import annotations

import struct

from livemoments_app.core.hdr.model import IsoGainMapParams

URN = b"urn:iso:std:iso:ts:21496:-1\x00"

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
