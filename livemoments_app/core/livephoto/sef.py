"""Samsung SEF trailer ("SEFH" directory ... "SEFT"): after a JPEG's EOI, or inside a HEIC 'sefd' box.

Layout: data blocks ``00 00 | type u16le | name_len u32le | name | data``, then the directory
``SEFH | version u32le | count u32le | count × (00 00 | type u16le | offset back from SEFH u32le | size u32le)``,
then ``dir_len u32le`` and ``SEFT``. Entries whose offsets point outside the trailer (stale after a file was
edited or shortened) are skipped and counted, never followed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from livemoments_app.core.livephoto.bmff import ByteSource

TYPE_MOTION_PHOTO = 0x0A30   # "MotionPhoto_Data": the MP4 (JPEG) or 'mpv2' + offset + size (HEIC)
MAX_ENTRIES = 1024


@dataclass(frozen=True)
class SefEntry:
    type: int
    name: str
    data_offset: int      # absolute
    data_size: int
    block_offset: int     # absolute offset of the block header


@dataclass
class SefTrailer:
    directory_offset: int             # absolute offset of "SEFH"
    start: int                        # lowest offset any valid block uses (where the trailer data begins)
    end: int                          # just after "SEFT"
    version: int
    entries: list[SefEntry] = field(default_factory=list)
    stale_entries: int = 0

    def find(self, type_code: int) -> SefEntry | None:
        return next((e for e in self.entries if e.type == type_code), None)


def read_sef(src: ByteSource, start: int, end: int) -> SefTrailer | None:
    """The SEF trailer ending exactly at ``end`` (and not reaching before ``start``), or None."""
    if end - start < 20 or src.read_upto(end - 4, 4) != b"SEFT":
        return None
    (dir_len,) = struct.unpack("<I", src.read(end - 8, 4))
    dir_start = end - 8 - dir_len
    if dir_len < 12 or dir_start < start or src.read(dir_start, 4) != b"SEFH":
        return None
    version, count = struct.unpack("<II", src.read(dir_start + 4, 8))
    if count > MAX_ENTRIES or 12 + 12 * count > dir_len:
        return None
    table = src.read(dir_start + 12, 12 * count)
    trailer = SefTrailer(dir_start, dir_start, end, version)
    for i in range(count):
        _, type_code, back, size = struct.unpack("<HHII", table[12 * i:12 * i + 12])
        block = dir_start - back
        if back == 0 or size < 8 or block < start or block + size > dir_start:
            trailer.stale_entries += 1
            continue
        head = src.read(block, 8)
        (name_len,) = struct.unpack("<I", head[4:8])
        if 8 + name_len > size:
            trailer.stale_entries += 1
            continue
        name = src.read(block + 8, name_len).decode("latin-1", "replace")
        trailer.entries.append(SefEntry(type_code, name, block + 8 + name_len, size - 8 - name_len, block))
        trailer.start = min(trailer.start, block)
    return trailer


def heic_video_location(src: ByteSource, entry: SefEntry) -> tuple[int, int] | None:
    """(offset, size) from a HEIC 0x0a30 entry: 'mpv2' + absolute offset u32be + size u32be."""
    if entry.data_size < 12:
        return None
    data = src.read(entry.data_offset, 12)
    if data[:4] != b"mpv2":
        return None
    offset, size = struct.unpack(">II", data[4:12])
    return offset, size
