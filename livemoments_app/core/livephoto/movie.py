"""A QuickTime/MP4 movie read from its boxes alone: tracks, edit lists, sample times, 'mdta' keys.

This is the container-level view used to pair and time a clip without decoding it (and to describe a clip
whose media data is cut short). Decoding is FrameSource's job (core/clip.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livemoments_app.core.livephoto import bmff
from livemoments_app.core.livephoto.bmff import Box, ByteSource

MAX_SAMPLES = 2_000_000

# Sample-entry codes → the codec names FFmpeg reports, for describing a clip FrameSource cannot open.
CODEC_NAMES = {"hvc1": "hevc", "hev1": "hevc", "dvh1": "hevc", "dvhe": "hevc", "avc1": "h264", "avc3": "h264",
               "av01": "av1", "vp09": "vp9", "mp4v": "mpeg4", "jpeg": "mjpeg", "apcn": "prores", "apch": "prores"}


@dataclass
class Track:
    box: Box
    track_id: int
    handler: str                   # 'vide', 'soun', 'meta', ...
    sample_entry: str              # first stsd entry, e.g. 'hvc1', 'avc1', 'mebx', 'lpcm'
    timescale: int                 # media timescale (mdhd)
    media_duration: int
    tkhd: dict
    edits: list[bmff.EditEntry]
    sample_count: int = 0
    coded_width: int = 0           # from the visual sample entry
    coded_height: int = 0
    mebx_keys: dict[int, str] = field(default_factory=dict)
    _stbl: Box | None = None

    @property
    def rotation(self) -> int:
        return int(self.tkhd.get("rotation", 0))

    @property
    def display_size(self) -> tuple[int, int]:
        w, h = self.coded_width, self.coded_height
        return (h, w) if self.rotation in (90, 270) else (w, h)

    @property
    def codec(self) -> str:
        return CODEC_NAMES.get(self.sample_entry, self.sample_entry.strip())


@dataclass
class Movie:
    source: ByteSource
    movie_timescale: int
    movie_duration: int
    keys: dict[str, bmff.MetadataItem]
    tracks: list[Track]

    @property
    def duration_s(self) -> float:
        return self.movie_duration / self.movie_timescale if self.movie_timescale > 0 else 0.0

    def video_tracks(self) -> list[Track]:
        return [t for t in self.tracks if t.handler == "vide"]

    def main_video_track(self) -> Track | None:
        """The clip: the video track with the most frames (as FrameSource chooses)."""
        videos = self.video_tracks()
        if not videos:
            return None
        return max(videos, key=lambda t: (t.sample_count, t.coded_width * t.coded_height))

    def presentation_times(self, track: Track) -> np.ndarray:
        """Sorted presentation times (s, movie time) of the track's samples, from stts/ctts and the edit list."""
        src = self.source
        stbl = track._stbl
        if stbl is None or track.timescale <= 0:
            return np.zeros(0)
        stts = bmff.find(src, "stts", within=stbl)
        if stts is None:
            return np.zeros(0)
        deltas = _run_lengths(src, stts, signed=False)
        if deltas.size == 0:
            return np.zeros(0)
        dts = np.concatenate([[0], np.cumsum(deltas[:-1], dtype=np.int64)])
        ctts = bmff.find(src, "ctts", within=stbl)
        if ctts is not None:
            offsets = _run_lengths(src, ctts, signed=True)
            n = min(len(offsets), len(dts))
            dts = dts.copy()
            dts[:n] += offsets[:n]      # Apple writes negative offsets even in version-0 tables
        pts = np.sort(dts)
        empty = 0
        media_start = 0
        for edit in track.edits:
            if edit.media_time == -1:
                empty += edit.segment_duration
                continue
            media_start = edit.media_time
            break
        pts = pts[pts >= media_start] if media_start > 0 else pts
        movie_ts = self.movie_timescale if self.movie_timescale > 0 else track.timescale
        return empty / movie_ts + (pts - media_start).astype(np.float64) / track.timescale


def _run_lengths(src: ByteSource, box: Box, *, signed: bool) -> np.ndarray:
    """Expand an stts/ctts table of (count, value) runs, bounded to MAX_SAMPLES."""
    data = bmff.payload(src, box)
    if len(data) < 8:
        raise src.error(f"'{box.type}' box is too short")
    count = int.from_bytes(data[4:8], "big")
    if 8 + 8 * count > len(data):
        raise src.error(f"'{box.type}' box claims {count} entries but is too short")
    table = np.frombuffer(data, dtype=">u4", count=2 * count, offset=8).reshape(-1, 2).astype(np.int64)
    counts, values = table[:, 0], table[:, 1]
    if signed:
        values = np.where(values >= 1 << 31, values - (1 << 32), values)
    if counts.sum() > MAX_SAMPLES:
        raise src.error(f"'{box.type}' box claims an implausible number of samples")
    return np.repeat(values, counts)


def _track(src: ByteSource, trak: Box) -> Track | None:
    tkhd_box = bmff.find(src, "tkhd", within=trak)
    mdia = bmff.find(src, "mdia", within=trak)
    if tkhd_box is None or mdia is None:
        return None
    mdhd_box = bmff.find(src, "mdhd", within=mdia)
    hdlr_box = bmff.find(src, "hdlr", within=mdia)
    if mdhd_box is None or hdlr_box is None:
        return None
    tkhd = bmff.parse_tkhd(src, tkhd_box)
    mdhd = bmff.parse_mdhd(src, mdhd_box)
    handler = bmff.parse_hdlr(src, hdlr_box)["handler"]
    elst_box = bmff.find(src, "edts/elst", within=trak)
    edits = bmff.parse_elst(src, elst_box) if elst_box is not None else []
    stbl = bmff.find(src, "minf/stbl", within=mdia)
    track = Track(trak, tkhd["track_id"], handler, "", mdhd["timescale"], mdhd["duration"], tkhd, edits,
                  _stbl=stbl)
    if stbl is None:
        return track
    stsd = bmff.find(src, "stsd", within=stbl)
    entries = list(bmff.children(src, stsd)) if stsd is not None else []
    if entries:
        entry = entries[0]
        track.sample_entry = entry.type
        if handler == "vide" and entry.payload_size >= 28:
            head = src.read(entry.payload_start, 28)
            track.coded_width = int.from_bytes(head[24:26], "big")
            track.coded_height = int.from_bytes(head[26:28], "big")
        if entry.type == "mebx":
            track.mebx_keys = bmff.parse_mebx_keys(src, entry)
    stsz = bmff.find(src, "stsz", within=stbl) or bmff.find(src, "stz2", within=stbl)
    if stsz is not None and stsz.payload_size >= 12:
        track.sample_count = int.from_bytes(src.read(stsz.payload_start + 8, 4), "big")
    stts = bmff.find(src, "stts", within=stbl)
    if track.sample_count == 0 and stts is not None and stts.payload_size >= 8:
        # a clip cut short can keep its timing table while its size table is gone
        track.sample_count = int(_run_lengths(src, stts, signed=False).size)
    return track


def first_sample(src: ByteSource, track: Track) -> tuple[int, int] | None:
    """(absolute offset, size) of the track's first sample: the first chunk's offset and the first size entry."""
    stbl = track._stbl
    if stbl is None:
        return None
    chunks = bmff.find(src, "stco", within=stbl) or bmff.find(src, "co64", within=stbl)
    stsz = bmff.find(src, "stsz", within=stbl)
    if chunks is None or stsz is None or chunks.payload_size < 8 or stsz.payload_size < 12:
        return None
    if int.from_bytes(src.read(chunks.payload_start + 4, 4), "big") == 0:
        return None
    width = 8 if chunks.type == "co64" else 4
    if chunks.payload_size < 8 + width:
        return None
    offset = int.from_bytes(src.read(chunks.payload_start + 8, width), "big")
    size = int.from_bytes(src.read(stsz.payload_start + 4, 4), "big")
    if size == 0:                                  # sizes differ per sample: read the first table entry
        if stsz.payload_size < 16:
            return None
        size = int.from_bytes(src.read(stsz.payload_start + 12, 4), "big")
    if offset + size > src.size:
        return None
    return offset, size


def read_movie(src: ByteSource, start: int = 0, end: int | None = None) -> Movie:
    """The movie in ``[start, end)`` of ``src`` (a whole MOV, or a clip embedded in a still)."""
    end = src.size if end is None else min(end, src.size)
    moov = None
    for box in bmff.iter_boxes(src, start, end, allow_truncated=True):
        if box.type == "moov":
            moov = box
            break
    if moov is None or moov.truncated:
        raise src.error("no complete 'moov' box: not a QuickTime/MP4 movie, or it is cut short")
    mvhd_box = bmff.find(src, "mvhd", within=moov)
    if mvhd_box is None:
        raise src.error("the movie has no 'mvhd' header")
    mvhd = bmff.parse_mvhd(src, mvhd_box)
    keys: dict[str, bmff.MetadataItem] = {}
    # Apple writes the 'mdta' keys in moov/meta; FFmpeg (use_metadata_tags) in moov/udta/meta.
    metas = bmff.find_all(src, "meta", within=moov) + bmff.find_all(src, "udta/meta", within=moov)
    for meta in metas:
        kids = list(bmff.children(src, meta))
        hdlr = next((b for b in kids if b.type == "hdlr"), None)
        keys_box = next((b for b in kids if b.type == "keys"), None)
        ilst = next((b for b in kids if b.type == "ilst"), None)
        if hdlr is None or keys_box is None or ilst is None or bmff.parse_hdlr(src, hdlr)["handler"] != "mdta":
            continue
        keys.update(bmff.parse_ilst(src, ilst, bmff.parse_keys(src, keys_box)))
    tracks = [t for t in (_track(src, trak) for trak in bmff.find_all(src, "trak", within=moov)) if t]
    return Movie(src, mvhd["timescale"], mvhd["duration"], keys, tracks)
