"""Write a new Apple Live Photo pair whose key photo is the restored frame.

The MOV is copied byte for byte and edited in place; it is never remuxed (FFmpeg/PyAV would drop the `mebx`
timed-metadata tracks and the file would stop being a Live Photo). Three fields change:

* the still-image-time track's first (empty) edit: its duration N, in the movie timescale, becomes the chosen
  frame's presentation time, so the track's single sample (value -1) lands on that frame;
* that track's ``tkhd`` duration: the sum of its edits, so readers that use TrackDuration agree;
* the ``com.apple.quicktime.content.identifier`` string in the moov/meta ``ilst``: a new UUID of the same length;
* iOS 17+: the still-image transform in the still-image-time sample (72 bytes in ``mdat``) becomes the identity.
  It relates the still to the video frame at the still-image time; the new still *is* that frame (restored, in the
  frame's own geometry), so identity is right whichever direction the matrix maps, and the old matrix (up to
  ~100 px of shift on the samples) would describe a key frame the pair no longer has.

The still carries the key photo's EXIF with the MakerNote's ContentIdentifier replaced in place by the same new
UUID, so the two files pair with each other and not with the original pair.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livemoments_app.core.errors import ExportError
from livemoments_app.core.export import exif_edit, files
from livemoments_app.core.export.still import ExportOptions, StillMetadata, encode, extension_for, write_back_format
from livemoments_app.core.hdr.model import GainMap
from livemoments_app.core.jobs import Progress, no_progress
from livemoments_app.core.livephoto import apple, bmff
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.movie import read_movie


@dataclass
class WriteBack:
    paths: list[Path]
    key_time_s: float                 # the chosen frame's presentation time, now the key photo's time
    skipped: list[str] = field(default_factory=list)
    content_identifier: str | None = None


@dataclass(frozen=True)
class MovPatch:
    """Byte edits that move the still-image time and change the identifier; offsets are absolute in the MOV."""

    edits: tuple[tuple[int, bytes], ...]
    still_time_ticks: int
    new_identifier: str
    old_identifier: str | None
    clip_has_location: bool = False
    transform_reset: bool = False


IDENTITY_TRANSFORM = struct.pack(">9d", 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def _tkhd_duration_field(src: ByteSource, trak: bmff.Box) -> tuple[int, int]:
    """(absolute offset, byte size) of the duration field of the track's ``tkhd``."""
    tkhd = bmff.find(src, "tkhd", within=trak)
    if tkhd is None:
        raise src.error("the still-image-time track has no 'tkhd' header")
    version, _ = bmff.full_box_header(src, tkhd)
    # version/flags, creation, modification, track id, reserved, then duration
    return (tkhd.payload_start + 4 + 24, 8) if version == 1 else (tkhd.payload_start + 4 + 16, 4)


def new_identifier_like(old: str | None) -> str:
    """A fresh upper-case UUID (Apple's spelling); the MOV field is patched in place, so lengths must match."""
    new = str(uuid.uuid4()).upper()
    if old is not None and len(old) != len(new):
        raise ExportError(f"the clip's ContentIdentifier {old!r} is not a UUID; it cannot be replaced in place")
    return new


def plan_mov_patch(src: ByteSource, still_time_s: float, new_identifier: str | None = None) -> MovPatch:
    """The in-place edits that put the still-image time at ``still_time_s`` (movie time) and re-key the clip."""
    movie = read_movie(src)
    track = apple.still_image_time_track(movie)
    if track is None:
        raise src.error("the clip has no still-image-time track, so it cannot carry a new key photo time")
    if not track.edits or track.edits[0].media_time != -1:
        # Without a leading empty edit the list would have to grow, which moves every box after it.
        raise src.error("the still-image-time track does not start with an empty edit; cannot move it in place")
    timescale = movie.movie_timescale
    if timescale <= 0:
        raise src.error("the movie header has no timescale")
    ticks = int(round(still_time_s * timescale))
    ticks = max(0, min(ticks, max(0, movie.movie_duration - 1)))
    first = track.edits[0]
    if first.entry_size == 12:
        if ticks >= 1 << 32:
            raise src.error("the new still-image time does not fit the edit list")
        edit_bytes = struct.pack(">I", ticks)
    else:
        edit_bytes = struct.pack(">Q", ticks)
    patches: list[tuple[int, bytes]] = [(first.offset, edit_bytes)]
    total = ticks + sum(e.segment_duration for e in track.edits[1:])
    dur_offset, dur_size = _tkhd_duration_field(src, track.box)
    patches.append((dur_offset, total.to_bytes(dur_size, "big")))
    item = movie.keys.get(apple.KEY_CONTENT_IDENTIFIER)
    old = apple.content_identifier(movie)
    new = new_identifier or new_identifier_like(old)
    if item is not None:
        if item.value_size != len(new.encode("ascii")):
            raise src.error("the clip's ContentIdentifier has an unexpected length; cannot replace it in place")
        patches.append((item.value_offset, new.encode("ascii")))
    transform = apple.still_image_transform(src, movie)
    if transform is not None:
        patches.append((transform.value_offset, IDENTITY_TRANSFORM))
    has_location = any("location" in key.lower() for key in movie.keys)
    return MovPatch(tuple(patches), ticks, new, old, has_location, transform is not None)


def patched_mov(path: Path, patch: MovPatch) -> bytes:
    data = bytearray(Path(path).read_bytes())
    for offset, value in patch.edits:
        if offset < 0 or offset + len(value) > len(data):
            raise ExportError("an edit falls outside the clip", path)
        data[offset:offset + len(value)] = value
    return bytes(data)


def write_back_apple(live_photo: Any, restored: Any, frame_index: int, folder: str | Path,
                     options: ExportOptions | None = None, progress: Progress | None = None, *,
                     gain_map: GainMap | None = None) -> WriteBack:
    """Writes ``<stem>_LM.<still ext>`` + ``<stem>_LM.<mov ext>`` into ``folder`` (the still with ``gain_map``)."""
    options = options or ExportOptions()
    progress = progress or no_progress()
    folder = Path(folder)
    mov_path = getattr(live_photo, "video_path", None)
    if mov_path is None:
        raise ExportError("this photo has no separate clip to write back as a Live Photo")
    mov_path = Path(mov_path)
    times = live_photo.clip.times
    if not 0 <= frame_index < len(times):
        raise ExportError(f"frame {frame_index} is outside the clip (0..{len(times) - 1})", mov_path)
    progress.set(0.02, "Planning the clip edits")
    with ByteSource.open(mov_path) as src:
        patch = plan_mov_patch(src, float(times[frame_index]))
    meta = StillMetadata.of(live_photo)
    pixels = getattr(restored, "pixels", restored)
    fmt = write_back_format(options.format, meta, pixels)
    height, width = pixels.shape[:2]
    rebuilt = exif_edit.rebuild(meta.exif, width, height, strip_location=options.strip_location)
    skipped = list(rebuilt.skipped)
    exif = rebuilt.data
    old_id = patch.old_identifier or getattr(live_photo, "content_identifier", None)
    paired = exif_edit.replace_once(exif or b"", old_id.encode("utf-8"), patch.new_identifier.encode("ascii")) \
        if old_id else None
    if paired is None:
        raise ExportError("the key photo has no Apple ContentIdentifier to re-key, so the new pair would not "
                          "pair; export the still alone instead", live_photo.still_path)
    if patch.old_identifier is None:
        skipped.append("the clip has no ContentIdentifier key to re-key; the two files pair by name only")
    if options.strip_location and patch.clip_has_location:
        skipped.append("location stripped from the still only: the clip keeps its own (it is copied, not rewritten)")
    progress.set(0.05, f"Encoding {fmt.upper()}")
    encoded = encode(pixels, meta, options, fmt=fmt, exif_override=paired, gain_map=gain_map, progress=progress)
    skipped += encoded.skipped
    progress.set(0.85, "Writing the Live Photo")
    still_ext, mov_ext = extension_for(fmt, meta), mov_path.suffix or ".MOV"
    mov_bytes = patched_mov(mov_path, patch)
    paths = files.write_free(folder, Path(live_photo.still_path).stem,
                             [(still_ext, encoded.data), (mov_ext, mov_bytes)], options.suffix,
                             list(getattr(live_photo, "source_paths", [])))
    progress.set(1.0, "Live Photo written")
    return WriteBack(paths, float(times[frame_index]), skipped, patch.new_identifier)
