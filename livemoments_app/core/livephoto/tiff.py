"""Just enough TIFF/EXIF reading to find the maker note, bounded against hostile offsets."""

from __future__ import annotations

import struct
from dataclasses import dataclass

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
MAX_ENTRIES = 1024

TAG_EXIF_IFD = 0x8769
TAG_MAKER_NOTE = 0x927C
TAG_ORIENTATION = 0x0112


class TiffError(ValueError):
    """Malformed TIFF structure (callers turn it into a CorruptFileError naming the file, or ignore it)."""


@dataclass(frozen=True)
class IfdEntry:
    tag: int
    type: int
    count: int
    value_offset: int   # where the value bytes start, relative to the buffer given to read_ifd
    value: bytes        # the raw value bytes (empty if they lay outside the buffer)

    def as_int(self, endian: str) -> int | None:
        fmt = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I"}.get(self.type)
        size = _TYPE_SIZES.get(self.type, 0)
        if fmt is None or len(self.value) < size:
            return None
        return struct.unpack(endian + fmt, self.value[:size])[0]

    def as_float(self, endian: str) -> float | None:
        """A number of any numeric type (rationals divided out); None for other types or a zero denominator."""
        size = _TYPE_SIZES.get(self.type, 0)
        if len(self.value) < size or size == 0:
            return None
        if self.type in (5, 10):
            num, den = struct.unpack(endian + ("II" if self.type == 5 else "ii"), self.value[:8])
            return num / den if den else None
        if self.type in (11, 12):
            return float(struct.unpack(endian + ("f" if self.type == 11 else "d"), self.value[:size])[0])
        value = self.as_int(endian)
        return None if value is None else float(value)

    def as_str(self) -> str:
        return self.value.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def read_ifd(data: bytes, offset: int, endian: str, base: int = 0, *, value_limit: int = 1 << 20
             ) -> tuple[dict[int, IfdEntry], int]:
    """Entries of the IFD at ``offset``; value offsets are relative to ``base``. Returns (entries, next IFD)."""
    if offset < 0 or offset + 2 > len(data):
        raise TiffError(f"IFD offset {offset} outside the EXIF data")
    (count,) = struct.unpack(endian + "H", data[offset:offset + 2])
    if count > MAX_ENTRIES or offset + 2 + 12 * count > len(data):
        raise TiffError(f"IFD at {offset} claims {count} entries")
    entries: dict[int, IfdEntry] = {}
    for i in range(count):
        pos = offset + 2 + 12 * i
        tag, typ, n = struct.unpack(endian + "HHI", data[pos:pos + 8])
        size = _TYPE_SIZES.get(typ, 1) * n
        if size <= 4:
            where = pos + 8
        else:
            (rel,) = struct.unpack(endian + "I", data[pos + 8:pos + 12])
            where = base + rel
        value = data[where:where + size] if size <= value_limit and 0 <= where and where + size <= len(data) else b""
        entries.setdefault(tag, IfdEntry(tag, typ, n, where, value))
    nxt_pos = offset + 2 + 12 * count
    nxt = struct.unpack(endian + "I", data[nxt_pos:nxt_pos + 4])[0] if nxt_pos + 4 <= len(data) else 0
    return entries, nxt


def tiff_header(data: bytes) -> tuple[str, int]:
    """(struct endian prefix, first IFD offset) of a TIFF header at the start of ``data``."""
    if data[:4] == b"MM\x00*":
        endian = ">"
    elif data[:4] == b"II*\x00":
        endian = "<"
    else:
        raise TiffError("no TIFF header")
    return endian, struct.unpack(endian + "I", data[4:8])[0]


def strip_exif_prefix(exif: bytes) -> bytes:
    """EXIF as a TIFF buffer, whether or not it carries the 'Exif\\0\\0' APP1 prefix."""
    if exif.startswith(b"Exif\x00\x00"):
        return exif[6:]
    return exif


def maker_note(exif: bytes) -> IfdEntry | None:
    """The MakerNote entry of the Exif IFD (its ``value_offset`` counts from the TIFF header), or None."""
    tiff = strip_exif_prefix(exif)
    endian, first = tiff_header(tiff)
    ifd0, _ = read_ifd(tiff, first, endian)
    pointer = ifd0.get(TAG_EXIF_IFD)
    off = pointer.as_int(endian) if pointer is not None else None
    if off is None or off == first:
        return None
    exif_ifd, _ = read_ifd(tiff, off, endian, value_limit=8 << 20)
    return exif_ifd.get(TAG_MAKER_NOTE)


def orientation(exif: bytes | None) -> int:
    """EXIF Orientation (1-8) of IFD0; 1 when absent or unreadable."""
    if not exif:
        return 1
    try:
        tiff = strip_exif_prefix(exif)
        endian, first = tiff_header(tiff)
        entry = read_ifd(tiff, first, endian)[0].get(TAG_ORIENTATION)
        value = entry.as_int(endian) if entry is not None else None
    except (TiffError, struct.error):
        return 1
    return value if value in range(1, 9) else 1
