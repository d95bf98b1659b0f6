"""Write a new Google / Samsung Motion Photo whose primary image is the restored frame.

The clip is the original MP4, byte for byte. The new file is:

* JPEG: the restored JPEG (EXIF, ICC, an XMP with the Camera / Container fields) followed by the MP4; with a
  Samsung SEF trailer when the source had one (the MP4 then sits in its ``MotionPhoto_Data`` block).
* HEIC: the restored HEIC, then a top-level ``mpvd`` box holding the MP4, then a ``sefd`` box when the source had
  Samsung data (its 0x0a30 entry pointing at the MP4 by absolute offset, as One UI writes it).

The XMP directory follows the Motion Photo 1.0 reading rules (items walked back from the end of the file) and
Samsung's habit of counting its trailing data into Length / Padding, so both kinds of reader find the video.
``MotionPhotoPresentationTimestampUs`` is the chosen frame's presentation time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livemoments_app.core.errors import ExportError
from livemoments_app.core.export import files, xmp_edit
from livemoments_app.core.export.bmff_write import box, header_size
from livemoments_app.core.export.still import ExportOptions, StillMetadata, encode, extension_for, write_back_format
from livemoments_app.core.export.writeback_apple import WriteBack
from livemoments_app.core.hdr.model import GainMap
from livemoments_app.core.jobs import Progress, no_progress
from livemoments_app.core.livephoto import bmff, samsung, sef
from livemoments_app.core.livephoto.bmff import ByteSource

SEF_VERSION = 107
PRIMARY_PLACEHOLDER = 0


@dataclass(frozen=True)
class SefBlock:
    type: int
    name: bytes
    data: bytes


def read_clip_bytes(live_photo: Any) -> bytes:
    """The embedded MP4 exactly: the byte range the reader found, cut to its run of boxes (drops SEF bytes)."""
    rng = getattr(live_photo, "video_range", None)
    if rng is None:
        raise ExportError("this photo has no embedded clip to write back as a Motion Photo",
                          getattr(live_photo, "still_path", None))
    with ByteSource.open(rng.path) as src:
        data = src.read(rng.offset, rng.length)
    clip = ByteSource(data, path=rng.path)
    if not bmff.looks_like_ftyp(clip, 0):
        raise ExportError("the embedded clip does not start with an MP4 'ftyp' box", rng.path)
    end = bmff.extent_of_boxes(clip, 0, len(data))
    return data[:end]


def source_sef_blocks(live_photo: Any) -> list[SefBlock] | None:
    """The Samsung SEF blocks of the source, in file order, or None when it has no SEF data."""
    path = Path(live_photo.still_path)
    with ByteSource.open(path) as src:
        head = src.read_upto(0, 3)
        if head == b"\xff\xd8\xff":
            trailer = samsung.jpeg_trailer(src)
        else:
            trailer = samsung.heic_boxes(src).trailer
        if trailer is None or not trailer.entries:
            return None
        blocks = []
        for entry in sorted(trailer.entries, key=lambda e: e.block_offset):
            name_len = entry.data_offset - entry.block_offset - 8
            name = src.read(entry.block_offset + 8, name_len)
            data = b"" if entry.type == sef.TYPE_MOTION_PHOTO else src.read(entry.data_offset, entry.data_size)
            blocks.append(SefBlock(entry.type, name, data))
    if not any(b.type == sef.TYPE_MOTION_PHOTO for b in blocks):
        blocks.append(SefBlock(sef.TYPE_MOTION_PHOTO, b"MotionPhoto_Data", b""))
    return blocks


def _block_bytes(block: SefBlock, data: bytes) -> bytes:
    return struct.pack("<HHI", 0, block.type, len(block.name)) + block.name + data


def build_sef(blocks: list[SefBlock], motion_data: bytes) -> tuple[bytes, int]:
    """SEF blocks + directory; the 0x0a30 block carries ``motion_data``.

    Returns the bytes and where ``motion_data`` starts in them. Directory offsets count back from SEFH, so the
    trailer does not depend on where it lands in the file.
    """
    body = bytearray()
    table = []
    motion_at = -1
    for block in blocks:
        data = motion_data if block.type == sef.TYPE_MOTION_PHOTO else block.data
        raw = _block_bytes(block, data)
        if block.type == sef.TYPE_MOTION_PHOTO:
            motion_at = len(body) + 8 + len(block.name)
        table.append((block.type, len(body), len(raw)))
        body += raw
    directory = bytearray(b"SEFH" + struct.pack("<II", SEF_VERSION, len(table)))
    for type_code, start, size in table:
        directory += struct.pack("<HHII", 0, type_code, len(body) - start, size)
    dir_len = len(directory)
    return bytes(body + directory + struct.pack("<I", dir_len) + b"SEFT"), motion_at


def _motion_fields(timestamp_us: int, primary_mime: str, primary_length: int, primary_padding: int,
                   video_length: int, video_padding: int) -> xmp_edit.MotionFields:
    return xmp_edit.MotionFields(timestamp_us, (
        xmp_edit.DirectoryItem(primary_mime, "Primary", primary_length, primary_padding),
        xmp_edit.DirectoryItem("video/mp4", "MotionPhoto", video_length, video_padding),
    ))


def _patch_primary_length(data: bytes, packet: bytes | None, length: int) -> bytes | None:
    """``data`` with the Primary item's Length set in place inside the already encoded XMP packet."""
    if packet is None or data.count(packet) != 1:
        return None
    old = f'Item:Semantic="Primary" Item:Length="{PRIMARY_PLACEHOLDER}"'.encode()
    new = f'Item:Semantic="Primary" Item:Length="{length}"'.encode()
    edited = xmp_edit.set_number_in_place(packet, old, new)
    if edited is None:
        return None
    return data.replace(packet, edited)


def assemble_heic(still: bytes, packet: bytes | None, mp4: bytes, blocks: list[SefBlock] | None
                  ) -> tuple[bytes, list[str]]:
    """HEIC + mpvd(MP4) [+ sefd]; the directory was written with placeholders that are final here."""
    notes: list[str] = []
    mpvd = box(b"mpvd", mp4)
    mpvd_header = len(mpvd) - len(mp4)
    primary_len = len(still)
    patched = _patch_primary_length(still, packet, primary_len)
    if patched is None:
        notes.append("XMP Primary Length (left 0; readers walk from the end of the file)")
        patched = still
    out = bytearray(patched)
    mp4_offset = len(out) + mpvd_header
    out += mpvd
    if blocks is not None:
        pointer = b"mpv2" + struct.pack(">II", mp4_offset, len(mp4))
        sef_bytes, _ = build_sef(blocks, pointer)
        out += box(b"sefd", sef_bytes)
    return bytes(out), notes


def _heic_layout(mp4_len: int, blocks: list[SefBlock] | None) -> tuple[int, int, int]:
    """(primary padding, video length, video padding) of the HEIC layout built by :func:`assemble_heic`."""
    header = header_size(mp4_len)
    tail = 0
    if blocks is not None:
        tail = len(box(b"sefd", build_sef(blocks, b"mpv2" + b"\0" * 8)[0]))
    return header, mp4_len + tail, tail


def output_stem(still_path: Path, suffix: str) -> tuple[str, str]:
    """(stem, suffix) of the written Motion Photo's name; Pixel naming (PXL_….MP.jpg) keeps its ``.MP`` last."""
    stem = still_path.stem
    if stem.upper().endswith(".MP"):
        return stem[:-3], f"{suffix}{stem[-3:]}"
    return stem, suffix


def write_back_motion(live_photo: Any, restored: Any, frame_index: int, folder: str | Path,
                      options: ExportOptions | None = None, progress: Progress | None = None, *,
                      gain_map: GainMap | None = None) -> WriteBack:
    """Writes ``<stem>_LM.<ext>``: the restored still as primary image (with ``gain_map``: inside the HEIC, or
    as an Ultra HDR gain-map JPEG between the primary and the clip) with the original clip behind it."""
    options = options or ExportOptions()
    progress = progress or no_progress()
    folder = Path(folder)
    times = live_photo.clip.times
    if not 0 <= frame_index < len(times):
        raise ExportError(f"frame {frame_index} is outside the clip (0..{len(times) - 1})", live_photo.still_path)
    key_time = float(times[frame_index])
    timestamp_us = int(round(key_time * 1e6))
    progress.set(0.02, "Reading the clip")
    mp4 = read_clip_bytes(live_photo)
    blocks = source_sef_blocks(live_photo)
    meta = StillMetadata.of(live_photo)
    pixels = getattr(restored, "pixels", restored)
    fmt = write_back_format(options.format, meta, pixels)
    progress.set(0.05, f"Encoding {fmt.upper()}")
    if fmt == "heic":
        pad, vlen, vpad = _heic_layout(len(mp4), blocks)
        fields = _motion_fields(timestamp_us, "image/heic", PRIMARY_PLACEHOLDER, pad, vlen, vpad)
        encoded = encode(pixels, meta, options, fmt="heic", xmp_motion=fields, gain_map=gain_map, progress=progress)
        data, notes = assemble_heic(encoded.data, encoded.xmp, mp4, blocks)
    else:
        if blocks is not None:
            sef_bytes, motion_at = build_sef(blocks, mp4)
            fields = _motion_fields(timestamp_us, "image/jpeg", 0, motion_at, len(sef_bytes) - motion_at,
                                    len(sef_bytes) - motion_at - len(mp4))
            tail = sef_bytes
        else:
            fields = _motion_fields(timestamp_us, "image/jpeg", 0, 0, len(mp4), 0)
            tail = mp4
        encoded = encode(pixels, meta, options, fmt="jpeg", xmp_motion=fields, gain_map=gain_map, progress=progress)
        if encoded.xmp is None:
            raise ExportError("the Motion Photo XMP could not be written into the JPEG", live_photo.still_path)
        data, notes = encoded.data + tail, []
    if options.strip_location:
        notes.append("location stripped from the still only: the embedded clip is copied unchanged")
    progress.set(0.85, "Writing the Motion Photo")
    ext = extension_for(fmt, meta)
    stem, suffix = output_stem(Path(live_photo.still_path), options.suffix)
    [target] = files.write_free(folder, stem, [(ext, data)], suffix, list(getattr(live_photo, "source_paths", [])))
    progress.set(1.0, "Motion Photo written")
    return WriteBack([target], key_time, encoded.skipped + notes, None)
