"""Samsung Motion Photos: the JPEG SEF trailer and the HEIC 'mpvd' / 'sefd' boxes."""

from __future__ import annotations

from dataclasses import dataclass, field

from livemoments_app.core.errors import CorruptFileError
from livemoments_app.core.livephoto import bmff, sef
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.google import Candidate


@dataclass
class HeicBoxes:
    mpvd: bmff.Box | None = None
    sefd: bmff.Box | None = None        # top level (One UI 6) or the last child of 'mpvd' (One UI 5)
    sefd_nested: bool = False
    trailer: sef.SefTrailer | None = None
    top_level: list[str] = field(default_factory=list)


def heic_boxes(src: ByteSource) -> HeicBoxes:
    """Top-level 'mpvd' / 'sefd' of a HEIC. A box running past the end (a cut file) ends the walk."""
    found = HeicBoxes()
    try:
        for box in bmff.iter_boxes(src, 0, src.size, allow_truncated=True):
            found.top_level.append(box.type)
            if box.type == "mpvd" and found.mpvd is None:
                found.mpvd = box
            elif box.type == "sefd" and found.sefd is None and not box.truncated:
                found.sefd = box
            if len(found.top_level) > 10000:
                break
    except CorruptFileError:
        pass
    if found.sefd is None and found.mpvd is not None and not found.mpvd.truncated:
        # One UI 5 nests 'sefd' at the end of 'mpvd', after the MP4's own boxes.
        for box in _boxes_quietly(src, found.mpvd.payload_start, found.mpvd.end):
            if box.type == "sefd" and not box.truncated:
                found.sefd, found.sefd_nested = box, True
    if found.sefd is not None:
        found.trailer = sef.read_sef(src, found.sefd.payload_start, found.sefd.end)
    return found


def _boxes_quietly(src: ByteSource, start: int, end: int) -> list[bmff.Box]:
    out = []
    try:
        for box in bmff.iter_boxes(src, start, end, allow_truncated=True):
            out.append(box)
    except CorruptFileError:
        pass
    return out


def heic_candidates(src: ByteSource, boxes: HeicBoxes) -> list[Candidate]:
    out: list[Candidate] = []
    if boxes.mpvd is not None:
        out.append(Candidate("mpvd", boxes.mpvd.payload_start, boxes.mpvd.payload_size))
    if boxes.trailer is not None:
        entry = boxes.trailer.find(sef.TYPE_MOTION_PHOTO)
        where = sef.heic_video_location(src, entry) if entry is not None else None
        if where is not None:
            out.append(Candidate("sef", where[0], where[1]))
    return out


def jpeg_trailer(src: ByteSource) -> sef.SefTrailer | None:
    return sef.read_sef(src, 0, src.size)


def jpeg_candidates(trailer: sef.SefTrailer | None) -> list[Candidate]:
    if trailer is None:
        return []
    entry = trailer.find(sef.TYPE_MOTION_PHOTO)
    return [Candidate("sef", entry.data_offset, entry.data_size)] if entry is not None else []
