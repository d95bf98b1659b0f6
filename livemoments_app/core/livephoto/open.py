"""Open any Live Photo / Motion Photo: find the still, the clip and the key photo's moment in the clip.

Two steps. :func:`inspect_live_photo` reads only container structure (boxes, EXIF, XMP, SEF): it decides the
format, where the clip is (a file, or a byte range inside the still's file), the pairing, and the stored key
time. :func:`open_live_photo` then decodes the still and opens the clip as a FrameSource. ``livemoments info``
uses the first step alone to describe files whose clip cannot be decoded.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from livemoments_app.core.errors import (CorruptFileError, DecodeError, LivePhotoError, NotALivePhotoError, PairingError,
                                         UnreadableFileError, one_line, unreadable)
from livemoments_app.core.file_types import STILL_EXTS, VIDEO_EXTS
from livemoments_app.core.jobs import Progress
from livemoments_app.core.livephoto import apple, bmff, gain_map_heif, gain_map_jpeg, google, heif, samsung, sef
from livemoments_app.core.livephoto import still as still_mod, xmp as xmp_mod
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.gain_map import GainMapRef
from livemoments_app.core.livephoto.model import ByteRange, KeyTimeSource, LiveFormat, LivePhoto
from livemoments_app.core.livephoto.movie import Movie, read_movie

HEIF_BRANDS = {"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "mif2", "avif", "avis", "avci"}


# --------------------------------------------------------------------------------------------- sniffing


def check_readable(path: Path) -> None:
    """Missing, a folder, empty or unreadable files are UnreadableFileErrors naming the file."""
    try:
        st = path.stat()
    except OSError as exc:
        raise unreadable(exc, path) from None
    if stat_mod.S_ISDIR(st.st_mode):
        raise UnreadableFileError("is a folder, not a photo", path)
    if not stat_mod.S_ISREG(st.st_mode):   # a pipe or device would block or never end
        raise UnreadableFileError("is not a regular file", path)
    if st.st_size == 0:
        raise UnreadableFileError("is empty (0 bytes)", path)
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError:
        raise UnreadableFileError("no permission to read the file", path) from None
    except OSError as exc:
        raise UnreadableFileError(f"cannot be read ({exc.strerror or exc})", path) from None


def sniff(path: Path) -> str:
    """'jpeg', 'heif', 'bmff_video', 'image' (other stills Pillow reads), 'video' (other containers), 'unknown'."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brands = {head[8:12].decode("latin-1")}
        size = int.from_bytes(head[:4], "big")
        for k in range(16, min(size, len(head)) - 3, 4):
            brands.add(head[k:k + 4].decode("latin-1"))
        major = head[8:12].decode("latin-1")
        if major in HEIF_BRANDS or (major not in ("qt  ", "isom", "mp41", "mp42", "M4V ", "avc1", "iso2", "iso4",
                                                  "iso5", "iso6", "3gp4", "3gp5", "dash")
                                    and brands & HEIF_BRANDS):
            return "heif"
        return "bmff_video"
    if len(head) >= 8 and head[4:8] in bmff.MOVIE_FIRST_BOXES:
        return "bmff_video"
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:4] in (b"II*\x00", b"MM\x00*") or head[:2] == b"BM" \
            or head[:6] in (b"GIF87a", b"GIF89a") or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return "video"
    return "unknown"


def folder_listing(folder: Path) -> dict[str, Path]:
    """The files of ``folder`` by lower-case name, as :func:`find_partner` looks them up ({} if unreadable)."""
    try:
        return {entry.name.lower(): Path(entry.path) for entry in os.scandir(folder) if entry.is_file()}
    except OSError:
        return {}


def find_partner(path: Path, want: str, listing: dict[str, Path] | None = None) -> Path | None:
    """The file beside ``path`` that completes an Apple pair: ``want`` is 'video' or 'still'.

    Names match case-insensitively (IMG_1.HEIC + IMG_1.mov) and Photos-library originals pair
    ``<id>.jpeg`` with ``<id>_3.mov``. ``listing`` is :func:`folder_listing` of the folder when the caller pairs
    many files of one folder (a folder scan): listing it for every file would cost O(files²).
    """
    stem = path.stem
    stems = [stem.lower()]
    if want == "video":
        stems.append(f"{stem}_3".lower())
        exts = VIDEO_EXTS
    else:
        if stem.lower().endswith("_3"):
            stems.append(stem[:-2].lower())
        exts = STILL_EXTS
    names = folder_listing(path.parent) if listing is None else listing
    for s in stems:
        for ext in exts:
            candidate = names.get(s + ext)
            if candidate is not None and candidate != path:
                return candidate
    return None


# --------------------------------------------------------------------------------------------- the plan


@dataclass
class StillMeta:
    """What the still's container says, read without decoding pixels."""

    path: Path
    kind: str                                   # 'jpeg', 'heif', 'image'
    exif: bytes | None = None
    xmp_packet: bytes | None = None             # the main XMP packet, raw
    xmp: xmp_mod.XmpData = field(default_factory=xmp_mod.XmpData)
    content_identifier: str | None = None       # Apple MakerNote 0x0011
    candidates: list[google.Candidate] = field(default_factory=list)
    samsung: bool = False
    details: dict = field(default_factory=dict)
    hdr: GainMapRef | None = None               # the HDR gain map, if the still carries one
    maker_note: apple.AppleMakerNote | None = None


@dataclass
class LiveParse:
    """Everything :func:`inspect_live_photo` learns from the containers; no pixels decoded."""

    format: LiveFormat
    still: StillMeta
    video_path: Path | None
    video_range: ByteRange | None
    key_time_s: float | None                    # None until resolved against the clip (fallback, estimate)
    key_time_source: KeyTimeSource
    content_identifier: str | None
    movie: Movie | None = None                  # container-level view of the clip (None if unparsable)
    details: dict = field(default_factory=dict)

    @property
    def clip_path(self) -> Path:
        return self.video_range.path if self.video_range is not None else self.video_path  # type: ignore

    def open(self, progress: Progress | None = None) -> LivePhoto:
        from livemoments_app.core.clip import FrameSource

        try:
            decoded = decode_still(self.still)
        except DecodeError as exc:
            exc.stage = "still"    # lets `info` tell a broken still from a broken clip (same file)
            raise
        clip = FrameSource.open(self.clip_path, byte_range=self.video_range,
                                colour_target=still_mod.colour_target_for(decoded.icc_profile))
        try:
            key_time, source = self.key_time_s, self.key_time_source
            details = dict(self.details)
            if source == KeyTimeSource.SPEC_FALLBACK_MIDPOINT:
                key_time = spec_fallback_time(clip.times, clip.duration_s)
            elif source == KeyTimeSource.IMAGE_SIMILARITY:
                from livemoments_app.core.livephoto.estimate import estimate_key_frame

                estimate = estimate_key_frame(decoded.pixels, clip, progress)
                key_time = float(clip.times[estimate.index])
                details["similarity_best"] = round(estimate.score, 4)
                details["key_time_estimate"] = estimate.details()   # "confident": False -> ask the user to check
            return LivePhoto(format=self.format, still=decoded, clip=clip, key_time_s=float(key_time),
                             key_time_source=source, still_path=self.still.path, video_path=self.video_path,
                             video_range=self.video_range, content_identifier=self.content_identifier,
                             details=details)
        except BaseException:
            clip.close()
            raise


def spec_fallback_time(times: np.ndarray, duration_s: float) -> float:
    """Google's rule without a timestamp: the frame just before the middle of the video."""
    if len(times) == 0:
        return 0.0
    before = np.nonzero(times < duration_s / 2.0)[0]
    return float(times[before[-1]] if before.size else times[0])


def decode_still(meta: StillMeta):
    if meta.kind == "heif":
        return still_mod.decode_heif(meta.path, exif=meta.exif, xmp=meta.xmp_packet, hdr=meta.hdr)
    return still_mod.decode_pillow(meta.path, exif=meta.exif, xmp=meta.xmp_packet, hdr=meta.hdr)


# --------------------------------------------------------------------------------------------- the still


def read_still_meta(path: Path, kind: str) -> StillMeta:
    meta = StillMeta(path, kind)
    if kind not in ("jpeg", "heif"):
        return meta
    with ByteSource.open(path) as src:
        if kind == "jpeg":
            _jpeg_meta(src, meta)
        else:
            _heif_meta(src, meta)
    note = meta.maker_note if meta.maker_note is not None else apple.read_maker_note(meta.exif)
    if note is not None:
        meta.content_identifier = note.content_identifier
    return meta


def find_gain_map(path: Path) -> GainMapRef | None:
    """The HDR gain map of any still file (a plain photo too); None for formats without one, or when the file's
    structure cannot be read (its decoder then says what is wrong)."""
    kind = sniff(path)
    if kind not in ("jpeg", "heif"):
        return None
    try:
        return read_still_meta(path, kind).hdr
    except LivePhotoError:
        return None


def _jpeg_meta(src: ByteSource, meta: StillMeta) -> None:
    jm = xmp_mod.read_jpeg_metadata(src)
    meta.exif = jm.exif
    meta.xmp_packet = jm.xmp_packets[0] if jm.xmp_packets else None
    meta.xmp = xmp_mod.jpeg_xmp(jm, src.path)
    _find_gain_map(meta, lambda: gain_map_jpeg.find(src, jm.segments, meta.exif, meta.xmp.directory))
    trailer = samsung.jpeg_trailer(src)
    if trailer is not None:
        meta.samsung = True
        meta.details["sef_entries"] = _describe_sef(trailer)
        if trailer.stale_entries:
            meta.details["sef_stale_entries"] = trailer.stale_entries
    meta.candidates = samsung.jpeg_candidates(trailer) + _xmp_candidates(meta.xmp, src.size)


def _heif_meta(src: ByteSource, meta: StillMeta) -> None:
    items = heif.items(src)
    primary = heif.primary_item_id(src)
    meta.exif = heif.exif_payload(src, items, primary)
    # Only the primary's XMP: an iPhone HEIC's other packet describes its HDR gain map, not the photo.
    packets = heif.xmp_payloads(src, items, primary)
    meta.xmp_packet = packets[0] if packets else None
    meta.xmp = xmp_mod.parse_xmp(packets, src.path)
    meta.maker_note = apple.read_maker_note(meta.exif)
    _find_gain_map(meta, lambda: gain_map_heif.find(src, items, primary, meta.maker_note))
    boxes = samsung.heic_boxes(src)
    meta.details["top_level_boxes"] = boxes.top_level[:32]
    if boxes.sefd is not None:
        meta.samsung = True
        meta.details["sefd"] = "nested in mpvd" if boxes.sefd_nested else "top level"
        if boxes.trailer is not None:
            meta.details["sef_entries"] = _describe_sef(boxes.trailer)
    if boxes.mpvd is not None:
        meta.details["mpvd_header_size"] = boxes.mpvd.header_size
    meta.candidates = samsung.heic_candidates(src, boxes) + _xmp_candidates(meta.xmp, src.size)


def _find_gain_map(meta: StillMeta, finder) -> None:
    """A damaged gain map makes an SDR photo, not an unreadable one: the reason goes into the details."""
    try:
        meta.hdr = finder()
    except CorruptFileError as exc:
        meta.details["hdr_error"] = exc.reason
    except (struct.error, ValueError, OverflowError, IndexError, KeyError) as exc:
        meta.details["hdr_error"] = one_line(f"unexpected structure ({type(exc).__name__}: {exc})")


def _describe_sef(trailer: sef.SefTrailer) -> list[dict]:
    return [{"type": f"0x{e.type:04x}", "name": e.name, "offset": e.data_offset, "size": e.data_size}
            for e in trailer.entries]


def _xmp_candidates(x: xmp_mod.XmpData, size: int) -> list[google.Candidate]:
    out = []
    directory = google.directory_candidate(x, size)
    if directory is not None:
        out.append(directory)
    if not google.is_motion_photo(x):       # v1.0 readers ignore the MicroVideo fields
        micro = google.micro_video_candidate(x, size)
        if micro is not None:
            out.append(micro)
    return out


def _choose_candidate(src: ByteSource, candidates: list[google.Candidate]) -> tuple[google.Candidate, list[dict]]:
    """The first candidate that lies inside the file and starts with an 'ftyp' box, trimmed to its boxes."""
    tried = []
    for cand in candidates:
        ok = cand.offset >= 0 and cand.length > 8 and cand.offset + cand.length <= src.size \
            and bmff.looks_like_ftyp(src, cand.offset, cand.offset + cand.length)
        tried.append({"source": cand.source, "offset": cand.offset, "length": cand.length, "valid": ok})
        if ok:
            end = bmff.extent_of_boxes(src, cand.offset, cand.offset + cand.length)
            return google.Candidate(cand.source, cand.offset, max(8, end - cand.offset)), tried
    where = ", ".join(f"{c.source} at byte {c.offset} ({c.length} bytes)" for c in candidates)
    raise CorruptFileError(f"the Motion Photo metadata points to no video inside the file ({src.size} bytes): "
                           f"{where}", src.path)


# --------------------------------------------------------------------------------------------- flows


def _embedded(meta: StillMeta) -> LiveParse:
    with ByteSource.open(meta.path) as src:
        chosen, tried = _choose_candidate(src, meta.candidates)
    movie_error = None
    try:
        movie = _read_movie_file(meta.path, chosen.offset, chosen.offset + chosen.length)
    except CorruptFileError as exc:
        movie, movie_error = None, exc.reason
    x = meta.xmp
    if meta.samsung:
        fmt = LiveFormat.SAMSUNG_MOTION_PHOTO
    elif google.is_motion_photo(x) or chosen.source == "mpvd":
        fmt = LiveFormat.GOOGLE_MOTION_PHOTO
    else:
        fmt = LiveFormat.GOOGLE_MICRO_VIDEO
    ts = google.presentation_timestamp_us(x)
    details = dict(meta.details)
    details.update({"video_located_by": chosen.source, "video_candidates": tried,
                    "xmp": {k[1]: v for k, v in x.props.items() if k[0] == xmp_mod.NS_CAMERA and len(v) < 200},
                    "xmp_directory": x.directory})
    if movie_error:
        details["container_error"] = movie_error
    return LiveParse(fmt, meta, None, ByteRange(meta.path, chosen.offset, chosen.length),
                     ts / 1e6 if ts is not None else None,
                     KeyTimeSource.XMP_PRESENTATION_TIMESTAMP if ts is not None
                     else KeyTimeSource.SPEC_FALLBACK_MIDPOINT,
                     None, movie, details)


def _read_movie_file(path: Path, start: int = 0, end: int | None = None) -> Movie:
    """The movie in ``[start, end)`` of ``path``. Only its 'moov' box is read (into memory), never the media."""
    with ByteSource.open(path) as src:
        end = src.size if end is None else min(end, src.size)
        moov = next((b for b in bmff.iter_boxes(src, start, end, allow_truncated=True) if b.type == "moov"), None)
        if moov is None or moov.truncated:
            raise CorruptFileError("no complete 'moov' box: not a QuickTime/MP4 movie, or it is cut short", path)
        if moov.size > 64 << 20:
            raise CorruptFileError(f"the movie header is implausibly large ({moov.size} bytes)", path)
        data = src.read(moov.start, moov.size)
    # Offsets inside stay absolute file offsets (the exporter patches the MOV in place from them).
    return read_movie(ByteSource(data, path=path, base=moov.start), moov.start, moov.end)


def _apple(meta: StillMeta, video: Path, *, explicit: bool) -> LiveParse:
    movie = _read_movie_file(video)
    if movie.main_video_track() is None:
        raise NotALivePhotoError("the movie has no video track", video)
    video_cid = apple.content_identifier(movie)
    still_cid = meta.content_identifier
    key = apple.still_image_time_s(movie)
    details = dict(meta.details)
    details["apple_keys"] = {k: v.value for k, v in movie.keys.items()
                             if isinstance(v.value, (str, int, float)) and k.startswith("com.apple.quicktime.")}
    sit = apple.still_image_time_track(movie)
    if sit is not None:
        details["still_image_time_track"] = {"track_id": sit.track_id, "movie_timescale": movie.movie_timescale,
                                             "edit_list": [(e.segment_duration, e.media_time) for e in sit.edits]}
    if still_cid and video_cid:
        if still_cid != video_cid:
            raise PairingError(one_line(f"the still's ContentIdentifier {still_cid[:64]} does not match "
                                        f"{video.name}'s {video_cid[:64]}: these files are not one Live Photo"),
                               meta.path)
        fmt = LiveFormat.APPLE_LIVE_PHOTO
        details["pairing"] = "content_identifier"
    else:
        fmt = LiveFormat.STILL_AND_VIDEO
        details["pairing"] = "explicit" if explicit else "file_name_only"
    source = KeyTimeSource.APPLE_STILL_IMAGE_TIME if key is not None else KeyTimeSource.IMAGE_SIMILARITY
    return LiveParse(fmt, meta, video, None, key, source, video_cid if fmt == LiveFormat.APPLE_LIVE_PHOTO else
                     (video_cid or still_cid), movie, details)


def _still_and_video(meta: StillMeta, video: Path, video_kind: str) -> LiveParse:
    if video_kind == "bmff_video" and meta.kind in ("jpeg", "heif"):
        return _apple(meta, video, explicit=True)
    movie = None
    if video_kind == "bmff_video":
        try:
            movie = _read_movie_file(video)
        except CorruptFileError:
            movie = None
    return LiveParse(LiveFormat.STILL_AND_VIDEO, meta, video, None, None, KeyTimeSource.IMAGE_SIMILARITY, None,
                     movie, {"pairing": "explicit"})


def inspect_live_photo(path: str | os.PathLike, partner: str | os.PathLike | None = None, *,
                       listing: dict[str, Path] | None = None) -> LiveParse:
    """Read the containers of a Live Photo (or a still + video pair) without decoding any pixels. ``listing``:
    see :func:`find_partner`."""
    try:
        return _inspect(Path(path), partner, listing)
    except LivePhotoError:
        raise
    except (struct.error, ValueError, OverflowError, IndexError, KeyError, MemoryError) as exc:
        # A parser tripping over a structure it did not expect is a damaged file, not a crash.
        raise CorruptFileError(one_line(f"unexpected structure ({type(exc).__name__}: {exc})"), path) from exc


def _inspect(path: Path, partner: str | os.PathLike | None, listing: dict[str, Path] | None = None) -> LiveParse:
    check_readable(path)
    kind = sniff(path)
    if partner is not None:
        other = Path(partner)
        check_readable(other)
        other_kind = sniff(other)
        still_kinds = ("jpeg", "heif", "image")
        if kind in still_kinds and other_kind not in still_kinds:
            return _still_and_video(read_still_meta(path, kind), other, other_kind)
        if other_kind in still_kinds and kind not in still_kinds:
            return _still_and_video(read_still_meta(other, other_kind), path, kind)
        what = "photos" if kind in still_kinds else "videos"
        raise PairingError(f"{path.name} and {other.name} are both {what}: give one photo and one video", path)

    if kind in ("jpeg", "heif"):
        meta = read_still_meta(path, kind)
        if meta.candidates:
            return _embedded(meta)
        video = find_partner(path, "video", listing)
        if video is not None:
            check_readable(video)
            return _apple(meta, video, explicit=False)
        if meta.samsung or google.is_motion_photo(meta.xmp) or google.is_micro_video(meta.xmp):
            raise CorruptFileError("marked as a Motion Photo, but its video cannot be located", path)
        raise NotALivePhotoError("not a Live Photo: a plain photo with no embedded clip and no .MOV beside it",
                                 path)
    if kind == "bmff_video":
        still = find_partner(path, "still", listing)
        if still is not None:
            check_readable(still)
            still_kind = sniff(still)
            if still_kind in ("jpeg", "heif"):
                return _apple(read_still_meta(still, still_kind), path, explicit=False)
        raise NotALivePhotoError("not a Live Photo: a video with no key photo beside it (give the photo too)",
                                 path)
    if kind in ("image", "video"):
        raise NotALivePhotoError(f"not a Live Photo: a plain {'photo' if kind == 'image' else 'video'}; give "
                                 "the photo and the video together", path)
    raise NotALivePhotoError("not a Live Photo: not a photo or video format LiveMoments reads", path)


def open_live_photo(path: str | os.PathLike, partner: str | os.PathLike | None = None, *,
                    progress: Progress | None = None) -> LivePhoto:
    """Open a Live Photo / Motion Photo (or an explicit still + video pair); see the module docstring."""
    return inspect_live_photo(path, partner).open(progress)
