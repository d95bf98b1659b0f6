"""Apple Live Photo facts: the still's MakerNote ContentIdentifier, the MOV's identifier key and still-image time."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.movie import Movie, Track, first_sample
from livemoments_app.core.livephoto.tiff import TiffError, maker_note, read_ifd

APPLE_MAKERNOTE_MAGIC = b"Apple iOS\x00"
TAG_CONTENT_IDENTIFIER = 0x0011
TAG_HDR_HEADROOM = 0x0021       # with 0x0030, the HDR gain map's headroom (core.hdr.apple)
TAG_HDR_GAIN = 0x0030
KEY_CONTENT_IDENTIFIER = "com.apple.quicktime.content.identifier"
KEY_STILL_IMAGE_TIME = "com.apple.quicktime.still-image-time"
# iOS 17+: a 3x3 matrix (row-major big-endian doubles) relating the still to the video frame at the still-image
# time, in the pixel space of the "-reference-dimensions" key (the coded video size). Both ride in the
# still-image-time track's single timed-metadata sample.
KEY_STILL_IMAGE_TRANSFORM = "com.apple.quicktime.live-photo-still-image-transform"


@dataclass
class AppleMakerNote:
    content_identifier: str | None
    # Where the identifier's bytes sit inside the EXIF (TIFF) buffer, so an exporter can patch them in place.
    content_identifier_offset: int | None = None
    hdr_headroom: float | None = None   # 0x0021 HDRHeadroom
    hdr_gain: float | None = None       # 0x0030 HDRGain


def read_maker_note(exif: bytes | None) -> AppleMakerNote | None:
    """The Apple MakerNote of an EXIF buffer (TIFF header onwards), or None when there is none."""
    if not exif:
        return None
    try:
        note = maker_note(exif)
    except (TiffError, struct.error):
        return None
    if note is None or not note.value.startswith(APPLE_MAKERNOTE_MAGIC) or len(note.value) < 16:
        return None
    data = note.value
    endian = ">" if data[12:14] == b"MM" else "<" if data[12:14] == b"II" else ">"
    try:
        entries, _ = read_ifd(data, 14, endian)  # offsets inside are relative to the MakerNote start
    except (TiffError, struct.error):
        return AppleMakerNote(None)
    hdr = {}
    for name, tag in (("hdr_headroom", TAG_HDR_HEADROOM), ("hdr_gain", TAG_HDR_GAIN)):
        value = entries[tag].as_float(endian) if tag in entries else None
        hdr[name] = value if value is not None and value == value else None     # NaN: as good as absent
    entry = entries.get(TAG_CONTENT_IDENTIFIER)
    if entry is None or entry.type != 2:
        return AppleMakerNote(None, **hdr)
    text = entry.as_str()
    return AppleMakerNote(text or None, note.value_offset + entry.value_offset if text else None, **hdr)


def content_identifier(movie: Movie) -> str | None:
    item = movie.keys.get(KEY_CONTENT_IDENTIFIER)
    return item.value.strip() if item is not None and isinstance(item.value, str) and item.value.strip() else None


def still_image_time_track(movie: Movie) -> Track | None:
    for track in movie.tracks:
        if KEY_STILL_IMAGE_TIME in track.mebx_keys.values():
            return track
    return None


def still_image_time_s(movie: Movie) -> float | None:
    """Movie time of the still-image-time sample: [empty edit of N movie ticks][1 tick of media] → N/timescale."""
    track = still_image_time_track(movie)
    if track is None or movie.movie_timescale <= 0:
        return None
    movie_time = 0
    for edit in track.edits:
        if edit.media_time == -1:
            movie_time += edit.segment_duration
            continue
        # the sample sits at media time 0; an edit starting later in the media moves it earlier
        shift = -edit.media_time / track.timescale if track.timescale > 0 else 0.0
        return max(0.0, movie_time / movie.movie_timescale + shift)
    if track.edits:    # only empty edits: nothing is placed
        return None
    return 0.0


@dataclass(frozen=True)
class StillTransform:
    matrix: tuple[float, ...]      # 9 values, row-major
    value_offset: int              # absolute offset of the 72 value bytes in the MOV (for in-place edits)


def _mebx_items(sample: bytes, key_names: dict[int, str]) -> dict[str, tuple[int, int]]:
    """Key name -> (offset, size) of each value in one 'mebx' sample: a run of [size][local key id][value]."""
    items: dict[str, tuple[int, int]] = {}
    pos = 0
    while pos + 8 <= len(sample):
        size = int.from_bytes(sample[pos:pos + 4], "big")
        if size < 8 or pos + size > len(sample):
            break
        name = key_names.get(int.from_bytes(sample[pos + 4:pos + 8], "big"))
        if name is not None:
            items[name] = (pos + 8, size - 8)
        pos += size
    return items


def still_image_transform(src: ByteSource, movie: Movie) -> StillTransform | None:
    """The iOS 17+ still-image transform of the clip, or None when the clip does not carry one."""
    track = still_image_time_track(movie)
    if track is None or KEY_STILL_IMAGE_TRANSFORM not in track.mebx_keys.values():
        return None
    where = first_sample(src, track)
    if where is None or where[1] > 4096:
        return None
    offset, size = where
    value = _mebx_items(src.read(offset, size), track.mebx_keys).get(KEY_STILL_IMAGE_TRANSFORM)
    if value is None or value[1] != 72:
        return None
    raw = src.read(offset + value[0], 72)
    return StillTransform(struct.unpack(">9d", raw), offset + value[0])
