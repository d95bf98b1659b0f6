"""Apple's description of an HDR gain map: the gain-map item's own XMP and the maker-note headroom values.

iPhones store ``HDRGainMap:HDRGainMapVersion`` / ``HDRGainMapHeadroom`` in an XMP item that describes ('cdsc') the
auxiliary gain-map image, and HDRHeadroom (0x0021) / HDRGain (0x0030) in the primary's Apple maker note. The maker
note travels with the EXIF as opaque bytes (exif_edit), so the tags survive an export; when the gain map written
carries other values than the key photo's, they are replaced in place here (same type, same size).
"""

from __future__ import annotations

import struct

from livemoments_app.core.hdr.apple import XMP_NS
from livemoments_app.core.hdr.model import AppleGainMapInfo
from livemoments_app.core.livephoto.apple import APPLE_MAKERNOTE_MAGIC, TAG_HDR_GAIN, TAG_HDR_HEADROOM
from livemoments_app.core.livephoto.tiff import TiffError, maker_note, read_ifd, strip_exif_prefix

VERSION = 131072            # what iOS 17/18 write (2.0 in 16.16 fixed point)
_RATIONAL_TYPES = {5: ">II", 10: ">ii"}
_DENOMINATOR = 100_000_000  # iOS writes these values to about 8 decimals


def gain_map_xmp(headroom: float, version: int | None = None) -> bytes:
    """The gain-map item's XMP, laid out as iOS writes it (no packet wrapper)."""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0">\n'
        '   <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '      <rdf:Description rdf:about=""\n'
        f'            xmlns:HDRGainMap="{XMP_NS}">\n'
        f'         <HDRGainMap:HDRGainMapVersion>{int(version or VERSION)}</HDRGainMap:HDRGainMapVersion>\n'
        f'         <HDRGainMap:HDRGainMapHeadroom>{headroom:.6f}</HDRGainMap:HDRGainMapHeadroom>\n'
        '      </rdf:Description>\n'
        '   </rdf:RDF>\n'
        '</x:xmpmeta>\n'
    ).encode("utf-8")


def _rational(value: float, fmt: str) -> bytes:
    signed = fmt == ">ii"
    limit = (1 << 31) - 1 if signed else (1 << 32) - 1
    denominator = _DENOMINATOR
    while denominator > 1 and abs(round(value * denominator)) > limit:
        denominator //= 10
    return struct.pack(fmt, round(value * denominator), denominator)


def with_maker_note_values(exif: bytes | None, apple: AppleGainMapInfo | None) -> tuple[bytes | None, list[str]]:
    """``exif`` with HDRHeadroom / HDRGain set to ``apple``'s maker-note values where the maker note has the
    tags (iPhone EXIF); unchanged where there is nothing to set. Also returns what could not be set, in words."""
    wanted = {tag: value for tag, value in ((TAG_HDR_HEADROOM, getattr(apple, "maker_headroom", None)),
                                            (TAG_HDR_GAIN, getattr(apple, "maker_gain", None))) if value is not None}
    if not exif or not wanted:
        return exif, []
    prefix = len(exif) - len(strip_exif_prefix(exif))
    try:
        note = maker_note(exif)
        if note is None or not note.value.startswith(APPLE_MAKERNOTE_MAGIC) or len(note.value) < 16:
            return exif, ["Apple maker-note HDR headroom (the EXIF has no Apple maker note)"]
        endian = "<" if note.value[12:14] == b"II" else ">"
        entries, _ = read_ifd(note.value, 14, endian)
    except (TiffError, struct.error):
        return exif, ["Apple maker-note HDR headroom (the maker note is unreadable)"]
    out = bytearray(exif)
    missing = []
    for tag, value in wanted.items():
        entry = entries.get(tag)
        fmt = _RATIONAL_TYPES.get(entry.type) if entry is not None else None
        if entry is None or fmt is None or entry.count != 1 or len(entry.value) != 8:
            missing.append(f"Apple maker-note tag 0x{tag:04X} (not in the key photo's maker note)")
            continue
        numerator, denominator = struct.unpack(endian + fmt[1:], entry.value)
        if denominator and abs(numerator / denominator - value) <= 1e-7 * max(1.0, abs(value)):
            continue            # the key photo's own value: keep its bytes
        at = prefix + note.value_offset + entry.value_offset
        out[at:at + 8] = _rational(float(value), endian + fmt[1:])
    return bytes(out), missing
