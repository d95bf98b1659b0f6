"""Apple Live Photo facts: the still's MakerNote ContentIdentifier and the MOV's keys and still-image time."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from livemoments_app.core.livephoto import bmff
from livemoments_app.core.livephoto.bmff import Box, ByteSource
from livemoments_app.core.livephoto.tiff import TiffError, read_ifd, summarize_exif

APPLE_MAKERNOTE_MAGIC = b"Apple iOS\x00"
TAG_CONTENT_IDENTIFIER = 0x0011
KEY_CONTENT_IDENTIFIER = "com.apple.quicktime.content.identifier"
KEY_STILL_IMAGE_TIME = "com.apple.quicktime.still-image-time"


@dataclass
class AppleMakerNote:
    content_identifier: str | None
    # Where the identifier's bytes sit inside the EXIF (TIFF) buffer, so an exporter can patch them in place.
    content_identifier_offset: int | None = None


def read_maker_note(exif: bytes | None) -> AppleMakerNote | None:
    """The Apple MakerNote of an EXIF buffer (TIFF header onwards), or None when there is none."""
    if not exif:
        return None
    try:
        summary = summarize_exif(exif)
    except (TiffError, struct.error):
        return None
    note = summary.maker_note()
    if note is None or not note.value.startswith(APPLE_MAKERNOTE_MAGIC) or len(note.value) < 16:
        return None
    data = note.value
    endian = ">" if data[12:14] == b"MM" else "<" if data[12:14] == b"II" else ">"
    try:
        entries, _ = read_ifd(data, 14, endian)  # offsets inside are relative to the MakerNote start
    except (TiffError, struct.error):
        return AppleMakerNote(None)
    entry = entries.get(TAG_CONTENT_IDENTIFIER)
    if entry is None or entry.type != 2:
        return AppleMakerNote(None)
    text = entry.as_str()
    return AppleMakerNote(text or None, note.value_offset + entry.value_offset if text else None)


@dataclass
class TrackInfo:
    box: Box
    track_id: int
    handler: str
    sample_entry: str              # first stsd entry type, e.g. 'hvc1', 'avc1', 'mebx', 'lpcm'
    timescale: int
    media_duration: int
    tkhd: dict
    edits: list[bmff.EditEntry]
    mebx_keys: dict[int, str] = field(default_factory=dict)


@dataclass
class MovInfo:
    movie_timescale: int
    movie_duration: int
    keys: dict[str, bmff.MetadataItem]
    tracks: list[TrackInfo]

    @property
    def content_identifier(self) -> str | None:
        item = self.keys.get(KEY_CONTENT_IDENTIFIER)
        return item.value.strip() if item is not None and isinstance(item.value, str) else None

    def still_image_time_track(self) -> TrackInfo | None:
        for track in self.tracks:
            if KEY_STILL_IMAGE_TIME in track.mebx_keys.values():
                return track
        return None

    def still_image_time_s(self) -> float | None:
        """Movie time of the still-image-time sample: [empty edit of N movie ticks][media] → N / timescale."""
        track = self.still_image_time_track()
        if track is None or self.movie_timescale <= 0:
            return None
        movie_time = 0
        for edit in track.edits:
            if edit.media_time == -1:
                movie_time += edit.segment_duration
                continue
            # the first sample sits at media time 0; a non-zero media_time shifts where it lands
            offset = -edit.media_time / track.timescale if track.timescale > 0 else 0.0
            return movie_time / self.movie_timescale + max(0.0, offset)
        if track.edits:    # only empty edits: not a placement we understand
            return None
        return 0.0

    def video_tracks(self) -> list[TrackInfo]:
        return [t for t in self.tracks if t.handler == "vide"]


def _track_info(src: ByteSource, trak: Box) -> TrackInfo | None:
    tkhd_box = bmff.find(src, "tkhd", within=trak)
    mdhd_box = bmff.find(src, "mdia/mdhd", within=trak)
    hdlr_box = bmff.find(src, "mdia/hdlr", within=trak)
    if tkhd_box is None or mdhd_box is None or hdlr_box is None:
        return None
    tkhd = bmff.parse_tkhd(src, tkhd_box)
    mdhd = bmff.parse_mdhd(src, mdhd_box)
    handler = bmff.parse_hdlr(src, hdlr_box)["handler"]
    elst_box = bmff.find(src, "edts/elst", within=trak)
    edits = bmff.parse_elst(src, elst_box) if elst_box is not None else []
    stsd = bmff.find(src, "mdia/minf/stbl/stsd", within=trak)
    entries = list(bmff.children(src, stsd)) if stsd is not None else []
    entry = entries[0].type if entries else ""
    mebx_keys = bmff.parse_mebx_keys(src, entries[0]) if entry == "mebx" else {}
    return TrackInfo(trak, tkhd["track_id"], handler, entry, mdhd["timescale"], mdhd["duration"], tkhd, edits,
                     mebx_keys)


def read_mov(src: ByteSource, start: int = 0, end: int | None = None) -> MovInfo:
    """Movie header, tracks and the moov/meta 'mdta' keys of a QuickTime/MP4 file (or of a byte range)."""
    end = src.size if end is None else end
    moov = next((b for b in bmff.iter_boxes(src, start, end, allow_truncated=True) if b.type == "moov"), None)
    if moov is None or moov.truncated:
        raise src.error("no complete 'moov' box (not a QuickTime/MP4 movie, or the file is cut short)")
    mvhd_box = bmff.find(src, "mvhd", within=moov)
    if mvhd_box is None:
        raise src.error("the movie has no 'mvhd' header")
    mvhd = bmff.parse_mvhd(src, mvhd_box)
    keys: dict[str, bmff.MetadataItem] = {}
    for meta in bmff.find_all(src, "meta", within=moov):
        kids = list(bmff.children(src, meta))
        hdlr = next((b for b in kids if b.type == "hdlr"), None)
        keys_box = next((b for b in kids if b.type == "keys"), None)
        ilst = next((b for b in kids if b.type == "ilst"), None)
        if hdlr is None or keys_box is None or ilst is None or bmff.parse_hdlr(src, hdlr)["handler"] != "mdta":
            continue
        keys.update(bmff.parse_ilst(src, ilst, bmff.parse_keys(src, keys_box)))
    tracks = [t for t in (_track_info(src, trak) for trak in bmff.find_all(src, "trak", within=moov)) if t]
    return MovInfo(mvhd["timescale"], mvhd["duration"], keys, tracks)
