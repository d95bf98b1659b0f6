"""ISO-BMFF / QuickTime box walking that never trusts a size or an offset.

Everything reads through a :class:`ByteSource`, which checks each read against the size of the file (or of
the byte string), so a hostile size field can only produce a :class:`CorruptFileError`, never a read outside
the data. Boxes carry absolute offsets, so callers that edit files in place (the exporter) can patch bytes
at ``box.payload_start + k`` directly.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

from livemoments_app.core.errors import CorruptFileError, one_line, unreadable

MAX_DEPTH = 16
# Box types a QuickTime/MP4 file starts with (QuickTime files may open with 'wide', 'free', 'moov'...).
MOVIE_FIRST_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


class ByteSource:
    """Bounded random access to a file or to bytes in memory."""

    def __init__(self, data: bytes | bytearray | memoryview | None = None, *, path: str | os.PathLike | None = None,
                 fileobj: BinaryIO | None = None, size: int | None = None, base: int = 0):
        """``data`` may be a window of a file that starts at offset ``base`` (e.g. a 'moov' box read into
        memory): offsets stay absolute, and reads before ``base`` are refused like reads past the end."""
        self.path = Path(path) if path is not None else None
        self._data = bytes(data) if data is not None else None
        self._file = fileobj
        self.base = base
        if self._data is not None:
            self.size = base + len(self._data)
        elif fileobj is not None:
            if size is None:
                fileobj.seek(0, os.SEEK_END)
                size = fileobj.tell()
            self.size = int(size)
        else:
            raise ValueError("ByteSource needs data or a file object")

    @classmethod
    def open(cls, path: str | os.PathLike) -> "ByteSource":
        try:
            fh = open(path, "rb")
        except OSError as exc:
            raise unreadable(exc, path) from None
        return cls(fileobj=fh, path=path)

    @classmethod
    def of(cls, data: "ByteSource | bytes | bytearray | memoryview", path: str | os.PathLike | None = None) -> "ByteSource":
        return data if isinstance(data, ByteSource) else cls(data, path=path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "ByteSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def error(self, message: str) -> CorruptFileError:
        # Box types and names come from the file: keep the message on one printable line.
        return CorruptFileError(one_line(message), self.path)

    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes at ``offset``; a read reaching outside the data is a CorruptFileError."""
        if offset < self.base or length < 0 or offset + length > self.size:
            raise self.error(f"data at bytes {offset}..{offset + length} lies outside the file ({self.size} bytes)")
        if self._data is not None:
            return self._data[offset - self.base:offset - self.base + length]
        if self._file is None:
            raise ValueError("ByteSource is closed")
        self._file.seek(offset)
        chunk = self._file.read(length)
        if len(chunk) != length:  # the file shrank underneath us
            raise self.error(f"short read at byte {offset}")
        return chunk

    def read_upto(self, offset: int, length: int) -> bytes:
        """At most ``length`` bytes at ``offset``, clipped to the end of the data."""
        offset = max(self.base, min(offset, self.size))
        return self.read(offset, max(0, min(length, self.size - offset)))

    def u32(self, offset: int) -> int:
        return struct.unpack(">I", self.read(offset, 4))[0]


@dataclass(frozen=True)
class Box:
    type: str            # four characters (latin-1), e.g. "moov"
    start: int           # absolute offset of the box header
    size: int            # whole box, header included (clipped to the data when truncated)
    header_size: int     # 8, 16 (64-bit largesize), +16 for 'uuid'
    truncated: bool = False
    usertype: bytes | None = None

    @property
    def payload_start(self) -> int:
        return self.start + self.header_size

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def payload_size(self) -> int:
        return self.size - self.header_size


def _printable_type(raw: bytes) -> bool:
    return all(0x20 <= b < 0x7F or b == 0xA9 for b in raw)


def read_box_header(src: ByteSource, pos: int, end: int, *, allow_truncated: bool = False) -> Box:
    """The box whose header starts at ``pos`` inside ``[pos, end)``."""
    if pos + 8 > end:
        raise src.error(f"box header at byte {pos} runs past the end of its container")
    size, raw_type = struct.unpack(">I4s", src.read(pos, 8))
    header = 8
    if size == 1:
        if pos + 16 > end:
            raise src.error(f"64-bit box header at byte {pos} runs past the end of its container")
        size = struct.unpack(">Q", src.read(pos + 8, 8))[0]
        header = 16
    elif size == 0:  # "extends to the end of the container"
        size = end - pos
    usertype = None
    if raw_type == b"uuid":
        if pos + header + 16 > end:
            raise src.error(f"uuid box at byte {pos} is cut short")
        usertype = src.read(pos + header, 16)
        header += 16
    box_type = raw_type.decode("latin-1")
    if size < header:
        raise src.error(f"box '{box_type}' at byte {pos} declares an impossible size {size}")
    if pos + size > end:
        if not allow_truncated:
            raise src.error(f"box '{box_type}' at byte {pos} ({size} bytes) runs past the end of its container "
                            f"at byte {end}")
        return Box(box_type, pos, end - pos, header, True, usertype)
    return Box(box_type, pos, size, header, False, usertype)


def iter_boxes(src: ByteSource | bytes, start: int = 0, end: int | None = None, *,
               allow_truncated: bool = False) -> Iterator[Box]:
    """Boxes laid end to end in ``[start, end)``. Fewer than 8 trailing bytes are ignored (writers pad).

    With ``allow_truncated`` a last box that runs past ``end`` is yielded clipped, marked ``truncated``, and
    the walk stops; otherwise that is a CorruptFileError.
    """
    src = ByteSource.of(src)
    end = src.size if end is None else min(end, src.size)
    pos = max(start, src.base)     # a window of a file has nothing before its base
    while pos + 8 <= end:
        box = read_box_header(src, pos, end, allow_truncated=allow_truncated)
        yield box
        if box.truncated:
            return
        pos = box.end


# Boxes whose children do not start right after the header: how many bytes to skip first.
_CHILD_SKIP = {"stsd": 8, "dref": 8, "iref": 4, "mebx": 8}
_CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "edts", "udta", "dinf", "meta", "ilst", "iprp", "ipco",
               "mvex", "moof", "traf", "tref", "stsd", "mebx", "sinf", "schi", "wave", "gmhd"}


def child_offset(src: ByteSource, box: Box) -> int:
    """Where the children of ``box`` begin."""
    if box.type == "meta":
        # ISO 'meta' is a full box (4 bytes of version/flags); QuickTime's is a plain container whose first
        # child ('hdlr') starts right away. Tell them apart by looking for a box type at +4.
        probe = src.read_upto(box.payload_start, 8)
        if len(probe) == 8 and probe[4:8] == b"hdlr":
            return box.payload_start
        return box.payload_start + 4
    return box.payload_start + _CHILD_SKIP.get(box.type, 0)


def children(src: ByteSource | bytes, box: Box, *, allow_truncated: bool = False) -> Iterator[Box]:
    src = ByteSource.of(src)
    return iter_boxes(src, child_offset(src, box), box.end, allow_truncated=allow_truncated)


def _split(path: str | Sequence[str]) -> list[str]:
    parts = path.split("/") if isinstance(path, str) else list(path)
    if len(parts) > MAX_DEPTH:
        raise ValueError("box path too deep")
    return [p for p in parts if p]


def find_all(src: ByteSource | bytes, path: str | Sequence[str], start: int = 0, end: int | None = None, *,
             within: Box | None = None) -> list[Box]:
    """Every box matching ``path`` (e.g. ``"moov/trak/mdia/hdlr"``), at top level of the range or of ``within``."""
    src = ByteSource.of(src)
    parts = _split(path)
    level: list[Box] = list(children(src, within) if within is not None else iter_boxes(src, start, end))
    for i, name in enumerate(parts):
        matched = [b for b in level if b.type == name]
        if i == len(parts) - 1:
            return matched
        level = [c for b in matched for c in children(src, b)]
    return []


def find(src: ByteSource | bytes, path: str | Sequence[str], start: int = 0, end: int | None = None, *,
         within: Box | None = None) -> Box | None:
    found = find_all(src, path, start, end, within=within)
    return found[0] if found else None


def walk(src: ByteSource | bytes, start: int = 0, end: int | None = None, *, within: Box | None = None,
         depth: int = 0) -> Iterator[tuple[int, Box]]:
    """Depth-first (depth, box) over known container boxes, bounded to MAX_DEPTH levels."""
    src = ByteSource.of(src)
    boxes = children(src, within) if within is not None else iter_boxes(src, start, end)
    for box in boxes:
        yield depth, box
        if box.type in _CONTAINERS and depth + 1 < MAX_DEPTH:
            yield from walk(src, within=box, depth=depth + 1)


def payload(src: ByteSource | bytes, box: Box, limit: int = 64 << 20) -> bytes:
    """The payload bytes of a (small) box; refuses absurdly large ones."""
    src = ByteSource.of(src)
    if box.payload_size > limit:
        raise src.error(f"box '{box.type}' at byte {box.start} is too large to read ({box.payload_size} bytes)")
    return src.read(box.payload_start, box.payload_size)


class _Cursor:
    """Sequential big-endian reads inside one box payload, each bounds-checked."""

    def __init__(self, data: bytes, src: ByteSource, what: str):
        self.data, self.pos, self.src, self.what = data, 0, src, what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.src.error(f"'{self.what}' box is too short")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def i32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack(">Q", self.take(8))[0]

    def i64(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big") if size else 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos


def full_box_header(src: ByteSource | bytes, box: Box) -> tuple[int, int]:
    """(version, flags) of a full box."""
    src = ByteSource.of(src)
    head = src.read(box.payload_start, 4) if box.payload_size >= 4 else b""
    if len(head) < 4:
        raise src.error(f"'{box.type}' box at byte {box.start} is too short for a full-box header")
    return head[0], int.from_bytes(head[1:4], "big")


def _full(src: ByteSource | bytes, box: Box) -> tuple[_Cursor, int, int]:
    src = ByteSource.of(src)
    cur = _Cursor(payload(src, box), src, box.type)
    version = cur.u8()
    flags = cur.uint(3)
    return cur, version, flags


def parse_mvhd(src: ByteSource | bytes, box: Box) -> dict:
    """Movie header: timescale and duration (``mdhd`` starts with the same fields)."""
    cur, version, _ = _full(src, box)
    if version == 1:
        cur.take(16)
        timescale, duration = cur.u32(), cur.u64()
    else:
        cur.take(8)
        timescale, duration = cur.u32(), cur.u32()
    return {"version": version, "timescale": timescale, "duration": duration}


parse_mdhd = parse_mvhd   # media header: same leading layout (creation, modification, timescale, duration)


def _rotation_from_matrix(a: float, b: float) -> int:
    """The quarter turn of a display matrix from its first row (a = cos, b = sin of the angle)."""
    return int(round(math.degrees(math.atan2(b, a)) / 90.0)) * 90 % 360


def parse_tkhd(src: ByteSource | bytes, box: Box) -> dict:
    cur, version, flags = _full(src, box)
    if version == 1:
        cur.take(16)
        track_id = cur.u32()
        cur.take(4)
        duration = cur.u64()
    else:
        cur.take(8)
        track_id = cur.u32()
        cur.take(4)
        duration = cur.u32()
    cur.take(8 + 2 + 2 + 2 + 2)  # reserved, layer, alternate group, volume, reserved
    m = [cur.i32() for _ in range(9)]
    width, height = cur.u32() / 65536.0, cur.u32() / 65536.0
    return {"version": version, "flags": flags, "track_id": track_id, "duration": duration,
            "matrix": m, "width": width, "height": height,
            "rotation": _rotation_from_matrix(m[0] / 65536.0, m[1] / 65536.0)}


def parse_hdlr(src: ByteSource | bytes, box: Box) -> dict:
    cur, _, _ = _full(src, box)
    cur.take(4)  # pre_defined / QuickTime component type
    handler = cur.take(4).decode("latin-1")
    cur.take(min(12, cur.remaining))
    name = cur.take(cur.remaining).split(b"\0", 1)[0].decode("utf-8", "replace")
    return {"handler": handler, "name": name}


@dataclass(frozen=True)
class EditEntry:
    segment_duration: int   # in the movie timescale
    media_time: int         # in the track's media timescale; -1 = empty edit
    rate: float
    offset: int             # absolute offset of this entry (for in-place edits)
    entry_size: int         # 12 (version 0) or 20 (version 1)


def parse_elst(src: ByteSource | bytes, box: Box) -> list[EditEntry]:
    cur, version, _ = _full(src, box)
    count = cur.u32()
    entry_size = 20 if version == 1 else 12
    if count * entry_size > cur.remaining:
        raise ByteSource.of(src).error(f"edit list at byte {box.start} claims {count} entries but is too short")
    entries = []
    for _ in range(count):
        at = box.payload_start + cur.pos
        if version == 1:
            dur, mt = cur.u64(), cur.i64()
        else:
            dur, mt = cur.u32(), cur.i32()
        rate = cur.i32() / 65536.0
        entries.append(EditEntry(dur, mt, rate, at, entry_size))
    return entries


def parse_keys(src: ByteSource | bytes, box: Box) -> list[tuple[str, str]]:
    """The moov/meta 'keys' table: [(namespace, key)], index 0 is key 1 of the 'ilst'."""
    cur, _, _ = _full(src, box)
    count = cur.u32()
    keys = []
    for _ in range(count):
        size = cur.u32()
        if size < 8:
            raise ByteSource.of(src).error(f"'keys' entry of impossible size {size}")
        namespace = cur.take(4).decode("latin-1")
        keys.append((namespace, cur.take(size - 8).decode("utf-8", "replace")))
    return keys


def decode_data_value(type_code: int, raw: bytes):
    """A QuickTime 'data' atom value by its well-known type."""
    if type_code in (1, 4):            # UTF-8 / UTF-8 sort
        return raw.decode("utf-8", "replace")
    if type_code in (2, 5):            # UTF-16
        return raw.decode("utf-16-be", "replace")
    if type_code == 23 and len(raw) == 4:
        return struct.unpack(">f", raw)[0]
    if type_code == 24 and len(raw) == 8:
        return struct.unpack(">d", raw)[0]
    if type_code in (21, 65, 66, 67, 74) and len(raw) in (1, 2, 4, 8):   # signed big-endian integers
        return int.from_bytes(raw, "big", signed=True)
    if type_code in (22, 75, 76, 77, 78) and len(raw) in (1, 2, 4, 8):   # unsigned big-endian integers
        return int.from_bytes(raw, "big", signed=False)
    return raw


@dataclass(frozen=True)
class MetadataItem:
    key: str
    value: object
    type_code: int
    value_offset: int     # absolute offset of the value bytes (for in-place edits)
    value_size: int


def parse_ilst(src: ByteSource | bytes, box: Box, keys: list[tuple[str, str]]) -> dict[str, MetadataItem]:
    """The moov/meta 'ilst' items, by key name. Items refer to ``keys`` by 1-based index in their box type."""
    src = ByteSource.of(src)
    items: dict[str, MetadataItem] = {}
    for item in children(src, box):
        index = int.from_bytes(item.type.encode("latin-1"), "big")
        if not 1 <= index <= len(keys):
            continue
        for data in children(src, item):
            if data.type != "data" or data.payload_size < 8:
                continue
            head = src.read(data.payload_start, 8)
            type_code = int.from_bytes(head[1:4], "big")
            value_offset = data.payload_start + 8
            raw = src.read(value_offset, data.payload_size - 8) if data.payload_size - 8 <= 1 << 20 else b""
            items[keys[index - 1][1]] = MetadataItem(keys[index - 1][1], decode_data_value(type_code, raw),
                                                     type_code, value_offset, data.payload_size - 8)
            break
    return items


def parse_mebx_keys(src: ByteSource | bytes, mebx: Box) -> dict[int, str]:
    """Local key id → key name of a 'mebx' timed-metadata sample entry (stsd/mebx/keys/<id>/keyd)."""
    src = ByteSource.of(src)
    out: dict[int, str] = {}
    keys_box = next((b for b in children(src, mebx) if b.type == "keys"), None)
    if keys_box is None:
        return out
    for entry in iter_boxes(src, keys_box.payload_start, keys_box.end):
        local_id = int.from_bytes(entry.type.encode("latin-1"), "big")
        for sub in children(src, entry):
            if sub.type == "keyd" and sub.payload_size >= 4:
                out[local_id] = src.read(sub.payload_start + 4, sub.payload_size - 4).decode("utf-8", "replace")
    return out


def looks_like_ftyp(src: ByteSource, offset: int, end: int | None = None) -> bool:
    """True when a plausible 'ftyp' box starts at ``offset`` (how an embedded MP4 is recognised)."""
    end = src.size if end is None else min(end, src.size)
    head = src.read_upto(offset, 8) if 0 <= offset < end else b""
    if len(head) < 8 or head[4:8] != b"ftyp":
        return False
    size = struct.unpack(">I", head[:4])[0]
    return 16 <= size <= 4096 and offset + size <= end


def extent_of_boxes(src: ByteSource, start: int, end: int, stop_types: tuple[str, ...] = ("sefd",)) -> int:
    """End offset of the run of well-formed boxes from ``start`` (stops at junk such as a trailer, and at
    ``stop_types``: Samsung's 'sefd' nested after the MP4 is not part of the clip).

    A last box running past ``end`` (a truncated file) counts up to ``end``.
    """
    pos = start
    while pos + 8 <= end:
        head = src.read(pos, 8)
        if not _printable_type(head[4:8]):
            break
        try:
            box = read_box_header(src, pos, end, allow_truncated=True)
        except CorruptFileError:
            break
        if box.type in stop_types:
            break
        pos = box.end
        if box.truncated:
            break
    return pos
