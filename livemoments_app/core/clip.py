"""FrameSource: the frames of a Live Photo / Motion Photo clip, by presentation time, exactly.

* Timestamps come from demuxing the packets once at open (no decoding); variable frame rate is the norm, so
  nothing here ever computes index × fps. Times are movie time: FFmpeg applies the edit list, which is the
  clock Apple's still-image-time and Google's presentation timestamp refer to.
* ``frame(i)`` is exact: seek to the keyframe before frame i, decode forward, and check the PTS. Moving to the
  next frame keeps decoding from where the decoder is; the frames of a GOP decoded on the way are kept (as
  decoded pictures), so stepping backwards converts a cached picture instead of seeking again.
* Frames come out upright (the track's display matrix is applied; PyAV does not rotate) and in the colour
  target (sRGB or Display P3), converted with the matrix/range/primaries the stream declares. 10-bit HLG/PQ
  clips are tone-mapped to SDR.
* Every picture a sequential pass decodes (the filmstrip's thumbnails, ``iter_frames``, ``prefetch``) is also
  kept, as decoded, in a bounded picture cache (the decoder's YUV buffers, ~4 MB at 1440×1920 8-bit 4:2:0): a
  later ``frame(i)`` is then only a colour conversion, no seek. A cold exact seek costs at least one HEVC
  I-frame decode (90-130 ms at 1920×1440 on a 2-core laptop); a warm one is 3-35 ms (conversion only: more
  when the gamut changes, e.g. a P3 clip shown in sRGB). ``prefetch`` warms the whole clip explicitly.
* An embedded clip (a byte range of the still's file) is read through a file object limited to that range;
  the bytes are never copied.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from livemoments_app.core import colour as col
from livemoments_app.core.errors import DecodeError, NotALivePhotoError, UnreadableFileError
from livemoments_app.core.livephoto.bmff import MOVIE_FIRST_BOXES

if TYPE_CHECKING:
    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.byte_range import ByteRange

COLOUR_TARGETS = tuple(col.TARGETS)
# Live Photo / Motion Photo clips are seconds long and at most 4K: far larger means a damaged or hostile file.
MAX_FRAMES = 20_000
MAX_PIXELS = 8192 * 8192
# Memory budgets of the two caches (decoded pictures, converted RGB frames).
RAW_CACHE_BYTES = 192 << 20
RGB_CACHE_BYTES = 160 << 20
# Default budget of the picture cache that sequential passes fill (a 3 s 1440×1920 clip takes ~220 MB).
PICTURE_CACHE_BYTES = 512 << 20


# Conversions of one decoded picture take turns (striped by object id: other pictures rarely wait).
_FRAME_LOCKS = tuple(threading.Lock() for _ in range(16))


class _RangeFile(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes at ``offset`` of a file (what PyAV reads an embedded
    clip through)."""

    def __init__(self, path: Path, offset: int, length: int):
        super().__init__()
        self._f = open(path, "rb", buffering=0)
        self._offset = offset
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = min(len(buf), self._length - self._pos)
        if n <= 0:
            return 0
        self._f.seek(self._offset + self._pos)
        got = self._f.readinto(memoryview(buf)[:n])
        self._pos += got
        return got

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            new = pos
        elif whence == io.SEEK_CUR:
            new = self._pos + pos
        elif whence == io.SEEK_END:
            new = self._length + pos
        else:
            raise ValueError(f"bad whence {whence}")
        if new < 0:
            raise OSError("seek before start of clip")
        self._pos = new
        return new

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


def _av_errors() -> tuple[type[BaseException], ...]:
    import av

    return (av.FFmpegError, OSError, ValueError, EOFError, RuntimeError, IndexError)


class FrameSource:
    """Random and sequential access to the frames of one video track of a clip.

    Attributes (set by ``open``): ``times`` (float64 seconds, movie time, ascending, read-only),
    ``frame_count``, ``duration_s``, ``fps_avg``, ``width``/``height`` (as displayed, after rotation),
    ``rotation`` (clockwise degrees applied to show the stored picture upright: 0/90/180/270), ``codec``,
    ``video_tracks`` (dicts: index, codec, width/height as stored, frame_count, selected), ``colour``
    (primaries/transfer/matrix/range/bit_depth used for conversion, and ``as_tagged``), ``colour_target``,
    ``keyframe_indices``, ``stats`` (seeks/decoded/skipped/converted counters, and ``from_pictures``: frames
    served from the picture cache).

    ``frame(i)`` returns a read-only cached array (H×W×3 uint8 RGB, upright); copy it before modifying.
    ``prefetch(progress)`` decodes the whole clip into the picture cache (``cache_info()`` says what it holds).
    Thread safety: random access (``frame``/``frame_at``) is serialised by a lock around one decoder;
    ``thumbnail`` uses a second decoder and ``iter_frames`` its own container, so a UI thread, a thumbnail
    thread and a background job can all use one FrameSource. The picture cache has its own lock, held only
    while its dictionary changes, so the thumbnail thread can fill it while a worker reads it.
    """

    def __init__(self, path: Path, byte_range: "ByteRange | None", colour_target: str, cache_frames: int,
                 picture_cache_bytes: int | None = None):
        if colour_target not in col.TARGETS:
            raise ValueError(f"colour_target must be one of {COLOUR_TARGETS}, not {colour_target!r}")
        self.path = Path(path)
        self.byte_range = byte_range
        self.colour_target = colour_target
        self._target_primaries = col.TARGETS[colour_target]
        self._cache_frames = max(1, cache_frames)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._thumb_lock = threading.Lock()
        self._rgb_cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._thumbs: dict[tuple[int, int], np.ndarray] = {}
        self._pictures = _PictureCache(PICTURE_CACHE_BYTES if picture_cache_bytes is None else picture_cache_bytes)
        self._decoder: _Decoder | None = None
        self._thumb_decoder: _Decoder | None = None
        self._closed = False
        self._views: dict[int, _RangeFile] = {}   # id(container) → the byte-range view it reads through
        # What the decoders did (tests check caching behaviour by counts, not timing).
        self.stats = {"seeks": 0, "decoded": 0, "skipped": 0, "converted": 0, "from_pictures": 0}
        self._last_request = -1

    # ---- opening -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, byte_range: "ByteRange | None" = None, *,
             colour_target: str = "srgb", cache_frames: int = 12,
             picture_cache_bytes: int | None = None) -> "FrameSource":
        """Open the clip at ``path`` (or the clip embedded at ``byte_range`` of a file), index its frames and
        decode the first one (which proves the clip decodes and tells its rotation).

        ``picture_cache_bytes`` bounds the cache of decoded pictures that sequential passes fill (default
        ``PICTURE_CACHE_BYTES``; 0 turns it off)."""
        src = cls(Path(byte_range.path if byte_range is not None else path), byte_range, colour_target,
                  cache_frames, picture_cache_bytes)
        try:
            src._open()
        except BaseException:
            src.close()
            raise
        return src

    def _describe_source(self) -> str:
        if self.byte_range is not None:
            return f"the clip embedded at byte {self.byte_range.offset} ({self.byte_range.length} bytes)"
        return "the clip"

    def _error(self, problem: str, exc: BaseException | None = None) -> DecodeError:
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        return DecodeError(f"{self._describe_source()} {problem}{detail}", self.path)

    def _open_container(self):
        import av

        if not self.path.exists():
            raise UnreadableFileError("file not found", self.path)
        # Everything a QuickTime/MP4 demuxer needs is in the moov box: minimal probing keeps FFmpeg from
        # decoding frames just to "analyse" streams (80 ms for an H.264 clip on a slow laptop).
        # (Other containers, e.g. MPEG-TS, need real probing to find their streams.)
        opts = {"probesize": "32", "analyzeduration": "0"}
        try:
            if self.byte_range is None:
                if not _looks_like_bmff(self.path):
                    opts = {}
                return av.open(str(self.path), "r", options=opts, metadata_errors="ignore")
            size = self.path.stat().st_size
            br = self.byte_range
            if br.offset < 0 or br.length <= 0 or br.offset + br.length > size:
                raise self._error(f"lies outside the file ({size} bytes)")
            view = _RangeFile(self.path, br.offset, br.length)
            try:
                container = av.open(view, "r", format="mp4", options=opts, metadata_errors="ignore")
            except BaseException:
                view.close()
                raise
            # PyAV does not close file objects it was given: the decoder that owns the container does.
            self._views[id(container)] = view
            return container
        except PermissionError as exc:
            raise UnreadableFileError(f"cannot read the file ({exc.strerror})", self.path) from exc
        except DecodeError:
            raise
        except _av_errors() as exc:
            raise self._error("is not a readable video", exc) from exc

    def _close_container(self, container) -> None:
        container.close()
        view = self._views.pop(id(container), None)
        if view is not None:
            view.close()

    def _open(self) -> None:
        container = self._open_container()
        try:
            self._read_tracks(container)
            self._index(container)
        except _av_errors() as exc:
            self._close_container(container)
            raise self._error("cannot be read", exc) from exc
        except BaseException:
            self._close_container(container)
            raise
        # The first picture is decoded at open (it proves the clip decodes and carries the display matrix)
        # by the light single-threaded decoder that serves thumbnails, reusing the indexing container; the
        # frame-threaded decoder for random access starts on the first ``frame()`` call.
        self._thumb_decoder = _Decoder(self, container, threads=False, raw_cache=2, fill_pictures=True)
        first = self._thumb_decoder.decode_to(0)
        # frame.rotation is counter-clockwise; we keep the clockwise turn that shows the picture upright.
        self.rotation = int(round(-(first.rotation or 0) / 90.0)) * 90 % 360
        self._stored_pixels = first.width * first.height
        if self.rotation in (90, 270):
            self.width, self.height = first.height, first.width
        else:
            self.width, self.height = first.width, first.height
        self._colour = self._frame_colour(first)
        # What conversion uses (unspecified tags filled in), plus the tags exactly as the stream carries them.
        self.colour = self._colour.describe()
        self.colour["as_tagged"] = {
            "primaries": col.PRIMARIES_NAMES.get(int(first.color_primaries), str(int(first.color_primaries))),
            "transfer": col.TRANSFER_NAMES.get(int(first.color_trc), str(int(first.color_trc))),
            "matrix": col.MATRIX_NAMES.get(int(first.colorspace), str(int(first.colorspace))),
            "range": col.RANGE_NAMES.get(int(first.color_range), str(int(first.color_range))),
            "pixel_format": first.format.name,
        }

    def _read_tracks(self, container) -> None:
        videos = [s for s in container.streams.video if s.codec_context is not None]
        if not videos:
            raise NotALivePhotoError(f"{self._describe_source()} has no video stream", self.path)
        # Several tracks (a Pixel clip carries a small full-length track and a 2-frame high-res one): the
        # clip is the track with the most frames.
        stream = max(videos, key=lambda s: (s.frames, s.codec_context.width * s.codec_context.height))
        w, h = stream.codec_context.width, stream.codec_context.height
        if w * h > MAX_PIXELS:
            raise self._error(f"has absurd dimensions ({w}×{h})")
        if stream.frames > MAX_FRAMES:
            raise self._error(f"has too many frames for a Live Photo clip ({stream.frames})")
        self._stream_index = stream.index
        self.codec = stream.codec_context.name
        self.video_tracks = [
            {"index": s.index, "codec": s.codec_context.name, "width": s.codec_context.width,
             "height": s.codec_context.height, "frame_count": int(s.frames), "selected": s is stream}
            for s in videos
        ]
        self._declared_frames = int(stream.frames)

    def _index(self, container) -> None:
        stream = container.streams[self._stream_index]
        self._time_base = stream.time_base
        entries = []  # (pts, dts, keyframe, end)
        stored = 0    # every sample with data, including those the edit list leaves out of the presentation
        damaged = None
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if stored >= MAX_FRAMES:
                raise self._error(f"has too many frames for a Live Photo clip (more than {MAX_FRAMES})")
            if packet.is_corrupt:  # the demuxer got less data than the sample table promised
                damaged = damaged if damaged is not None else float((packet.pts or 0) * self._time_base)
                continue
            stored += 1
            if packet.pts is None or packet.is_discard:
                continue
            dts = packet.dts if packet.dts is not None else packet.pts
            entries.append((packet.pts, dts, bool(packet.is_keyframe), packet.pts + (packet.duration or 0)))
        if self._declared_frames and stored < self._declared_frames:
            raise self._error(f"is truncated: only {stored} of its {self._declared_frames} frames are in the file")
        if damaged is not None:
            raise self._error(f"is damaged: the frame at {damaged:.3f} s is incomplete")
        if not entries:
            raise self._error("has no video frames")
        # Decode order → presentation order.
        dts_of_pts = {}
        keyframes = []
        for pts, dts, key, _ in entries:
            dts_of_pts[pts] = dts
            if key:
                keyframes.append(pts)
        pts_sorted = np.array(sorted(dts_of_pts), dtype=np.int64)
        if not keyframes or keyframes[0] > pts_sorted[0]:
            # The first frame must be decodable from somewhere: treat it as a sync point.
            keyframes.insert(0, int(pts_sorted[0]))
        self._pts = pts_sorted
        self._pts_to_index = {int(p): i for i, p in enumerate(pts_sorted)}
        key_idx = np.array(sorted({self._pts_to_index[k] for k in keyframes}), dtype=np.int64)
        # For each frame: the keyframe to seek to (the last one at or before it in presentation order).
        self._key_of = key_idx[np.searchsorted(key_idx, np.arange(len(pts_sorted)), side="right") - 1]
        self._keyframe_indices = key_idx
        tb = float(self._time_base)
        self.times = pts_sorted.astype(np.float64) * tb
        self.times.setflags(write=False)
        self.frame_count = len(pts_sorted)
        end = max(e for *_, e in entries)
        self.duration_s = float(max(end, int(pts_sorted[-1])) * tb)
        span = self.times[-1] - self.times[0]
        self.fps_avg = float((self.frame_count - 1) / span) if span > 0 else 0.0
        self._max_gop = int(np.max(np.diff(np.append(key_idx, self.frame_count))))

    def _frame_colour(self, frame) -> col.VideoColour:
        fmt = frame.format.name
        depth = 8
        if "10" in fmt:
            depth = 10
        elif "12" in fmt:
            depth = 12
        return col.resolve_colour(int(frame.color_primaries), int(frame.color_trc), int(frame.colorspace),
                                  int(frame.color_range), fmt, frame.width, frame.height, depth)

    # ---- lookup --------------------------------------------------------------------------------------

    @property
    def keyframe_indices(self) -> np.ndarray:
        return self._keyframe_indices

    def nearest_index(self, t: float) -> int:
        """Index of the frame whose presentation time is nearest ``t`` (ties go to the earlier frame)."""
        times = self.times
        j = int(np.searchsorted(times, t))
        if j <= 0:
            return 0
        if j >= len(times):
            return len(times) - 1
        return j - 1 if (t - times[j - 1]) <= (times[j] - t) else j

    def _check_index(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self.frame_count
        if not 0 <= i < self.frame_count:
            raise IndexError(f"frame index {i} out of range 0..{self.frame_count - 1}")
        return i

    # ---- frames --------------------------------------------------------------------------------------

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` (by presentation order): H×W×3 uint8 RGB, upright, in the colour target. Read-only."""
        i = self._check_index(i)
        with self._lock:
            self._ensure_open()
            hit = self._rgb_cache.get(i)
            if hit is not None:
                self._rgb_cache.move_to_end(i)
                self._last_request = i
                return hit
            # Stepping backwards: decode the whole GOP up to i once, so the next steps back are cache hits.
            stepping_back = i == self._last_request - 1
            self._last_request = i
            picture = self._picture(i, keep_all=stepping_back)
            rgb = self._convert(picture)
            rgb.setflags(write=False)
            self._rgb_cache[i] = rgb
            while len(self._rgb_cache) > max(2, min(self._cache_frames, RGB_CACHE_BYTES // rgb.nbytes)):
                self._rgb_cache.popitem(last=False)
            return rgb

    def _picture(self, i: int, keep_all: bool = False):
        """The decoded picture of frame ``i`` (caller holds ``_lock``): one the thumbnail decoder or the picture
        cache holds, else decoded."""
        if self._decoder is None:
            self._decoder = _Decoder(self, self._open_container(), threads=True)
        thumbs = self._thumb_decoder
        picture = thumbs._raw.get(i) if thumbs is not None else None  # e.g. frame 0, decoded at open
        if picture is None:
            kept = self._pictures.get(i)
            if kept is not None:
                self.stats["from_pictures"] += 1
                picture = kept
        if picture is None:
            picture = self._decoder.decode_to(i, keep_all=keep_all)
        return picture

    def frame_at(self, t: float) -> np.ndarray:
        return self.frame(self.nearest_index(t))

    @property
    def is_hdr(self) -> bool:
        """The clip is HDR video (HLG or PQ): ``frame`` gives its tone-mapped SDR rendition, ``hdr_frame`` the
        HDR light itself."""
        return self._colour.is_hdr

    def hdr_frame(self, i: int) -> np.ndarray | None:
        """Frame ``i`` as the HDR light it holds: H×W×3 float32, linear, relative to SDR white (1.0 = 203 cd/m²,
        where ``frame(i)`` puts white), upright, in the colour target's primaries; None for an SDR clip.
        ``frame(i)`` is its SDR rendition. Not cached (one call per restore, for the gain map), and nothing of
        it runs when ``frame`` is asked for."""
        if not self.is_hdr:
            return None
        from av.video.reformatter import ColorRange, Interpolation

        i = self._check_index(i)
        with self._lock:
            self._ensure_open()
            picture = self._picture(i)
        c = self._colour
        try:
            with _FRAME_LOCKS[(id(picture) >> 4) % len(_FRAME_LOCKS)]:
                sig = self._reformatter(False).reformat(
                    picture, format="rgb48le", width=picture.width, height=picture.height,
                    src_colorspace=c.sws_colorspace, dst_colorspace=c.sws_colorspace,
                    src_color_range=ColorRange.JPEG if c.full_range else ColorRange.MPEG,
                    dst_color_range=ColorRange.JPEG, interpolation=Interpolation.BILINEAR)
            linear = col.hdr_to_linear(sig.to_ndarray(), c, self._target_primaries)
        except _av_errors() as exc:
            raise self._error("has a frame that cannot be converted to RGB", exc) from exc
        return _rotate(linear, self.rotation)

    def thumbnail(self, i: int, max_side: int = 160) -> np.ndarray:
        """A small upright RGB frame whose longer side is ``max_side``; decoded by a separate decoder and
        scaled while converting, so it never disturbs (or waits much for) the main decoder."""
        i = self._check_index(i)
        key = (i, int(max_side))
        with self._thumb_lock:
            hit = self._thumbs.get(key)
            if hit is not None:
                return hit
        full = self._rgb_cache.get(i)
        kept = self._pictures.get(i) if full is None else None
        if full is not None:
            thumb = fit_within(full, max_side)
        elif kept is not None:
            thumb = self._convert(kept, max_side=max_side)
        else:
            with self._thumb_lock:
                self._ensure_open()
                thumb = self._convert(self._thumb_decoder.decode_to(i), max_side=max_side)
        thumb.setflags(write=False)
        with self._thumb_lock:
            self._thumbs[key] = thumb
        return thumb

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1,
                    max_side: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Decode frames ``start:stop:step`` in order and yield ``(index, rgb)``; an independent container is
        used, so this does not disturb random access. ``max_side`` scales frames down while converting.
        The decoded pictures go into the picture cache on the way."""
        self._ensure_open()
        stop = self.frame_count if stop is None else min(stop, self.frame_count)
        if start >= stop:
            return
        wanted = set(range(start, stop, max(1, step)))
        decoder = _Decoder(self, self._open_container(), threads=True, raw_cache=0, fill_pictures=True)
        try:
            for idx, frame in decoder.run_from(start):
                if idx in wanted:
                    yield idx, self._convert(frame, max_side=max_side)
                    wanted.discard(idx)
                    if not wanted:
                        break
        finally:
            decoder.close()
        if wanted:
            raise self._error(f"ended before frame {min(wanted)} could be decoded")

    def prefetch(self, progress: "Progress | None" = None) -> int:
        """Decode the whole clip once, in order, so that every later ``frame(i)`` is served from the picture
        cache (a colour conversion, no seek). Frames already cached are not decoded again unless they come
        after the first missing one. Cancellable through ``progress``; returns how many frames are cached.

        The filmstrip's thumbnail pass fills the same cache, so after it this returns at once."""
        self._ensure_open()
        n = self.frame_count
        missing = [i for i in range(n) if i not in self._pictures]
        if not missing or self._pictures.budget <= 0:
            return len(self._pictures)
        first = missing[0]
        if progress is not None:
            progress.set(first / n, "Decoding the clip")
        decoder = _Decoder(self, self._open_container(), threads=True, raw_cache=0, fill_pictures=True)
        try:
            for idx, _frame in decoder.run_from(first):
                if self._closed:
                    break
                if progress is not None:
                    progress.set(max(idx + 1, first) / n, "Decoding the clip")
        finally:
            decoder.close()
        return len(self._pictures)

    def cache_info(self) -> dict:
        """What the picture cache holds: ``frames``, ``bytes``, ``budget`` (bytes)."""
        return {"frames": len(self._pictures), "bytes": self._pictures.nbytes, "budget": self._pictures.budget}

    def _convert(self, frame, max_side: int | None = None) -> np.ndarray:
        """Decoded picture → upright RGB uint8 in the colour target."""
        from av.video.reformatter import ColorRange, Interpolation

        self.stats["converted"] += 1
        c = self._colour
        w, h = frame.width, frame.height
        interp = Interpolation.BILINEAR
        if max_side is not None and max(w, h) > max_side:
            s = max_side / max(w, h)
            w, h = max(2, round(w * s)), max(2, round(h * s))
            interp = Interpolation.AREA
        kwargs = dict(width=w, height=h, src_colorspace=c.sws_colorspace, dst_colorspace=c.sws_colorspace,
                      src_color_range=ColorRange.JPEG if c.full_range else ColorRange.MPEG,
                      dst_color_range=ColorRange.JPEG, interpolation=interp)
        reformatter = self._reformatter(max_side is not None)
        try:
            # One decoded picture may be converted by two threads at once (the thumbnail pass and a frame
            # request share cached pictures): PyAV rewrites the frame's colour tags while converting it, so
            # conversions of the same frame take turns.
            with _FRAME_LOCKS[(id(frame) >> 4) % len(_FRAME_LOCKS)]:
                sig = reformatter.reformat(frame, format="rgb48le" if c.is_hdr else "rgb24", **kwargs)
            if c.is_hdr:
                rgb = col.hdr_to_sdr_u8(sig.to_ndarray(), c, self._target_primaries)
            else:
                rgb = col.convert_primaries_u8(sig.to_ndarray(), c.primaries_name, self._target_primaries)
        except _av_errors() as exc:
            raise self._error("has a frame that cannot be converted to RGB", exc) from exc
        return _rotate(rgb, self.rotation)

    def _reformatter(self, scaled: bool):
        """This thread's swscale context for full-size or scaled conversions (``frame.reformat`` would keep one
        per frame: shared between threads once frames are cached, and a context per cached picture)."""
        from av.video.reformatter import VideoReformatter

        mine = getattr(self._local, "reformatters", None)
        if mine is None:
            mine = self._local.reformatters = {}
        if scaled not in mine:
            mine[scaled] = VideoReformatter()
        return mine[scaled]

    def clear_cache(self, pictures: bool = True) -> None:
        """Drop every cached frame and decoded picture (memory pressure; benchmarks of cold access).
        ``pictures=False`` keeps the picture cache that sequential passes filled (benchmarks of warm access)."""
        with self._lock:
            self._rgb_cache.clear()
            if self._decoder is not None:
                self._decoder._raw.clear()
            self._last_request = -1
        if pictures:
            self._pictures.clear()
        with self._thumb_lock:
            self._thumbs.clear()
            if self._thumb_decoder is not None:
                self._thumb_decoder._raw.clear()

    # ---- lifetime ------------------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self.path.name}: FrameSource is closed")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._decoder is not None:
                self._decoder.close()
                self._decoder = None
            self._rgb_cache.clear()
        with self._thumb_lock:
            if self._thumb_decoder is not None:
                self._thumb_decoder.close()
                self._thumb_decoder = None
        self._pictures.clear()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"FrameSource({self.path.name!r}, {getattr(self, 'frame_count', '?')} frames, "
                f"{getattr(self, 'width', '?')}x{getattr(self, 'height', '?')}, {getattr(self, 'codec', '?')})")


class _Decoder:
    """One container + decoder positioned somewhere in the clip, with the decoded pictures of the current
    GOP kept so that nearby frames (backwards too) need no new seek."""

    def __init__(self, owner: FrameSource, container, *, threads: bool, raw_cache: int | None = None,
                 fill_pictures: bool = False):
        self.owner = owner
        # Sequential decoders keep what they decode in the owner's picture cache (whole clips, for later
        # random access); the random-access decoder keeps only its GOP (``_raw``).
        self._fill = fill_pictures
        self._seek_key = 0
        self.container = container
        self.stream = container.streams[owner._stream_index]
        cc = self.stream.codec_context
        # Frame threading costs (threads - 1) pictures of latency after a seek but decodes the next pictures
        # in parallel while the caller converts the current one; 2-4 threads suit a 2-core laptop and up.
        cc.thread_type = "AUTO" if threads else "SLICE"
        cc.thread_count = max(2, min(os.cpu_count() or 2, 4)) if threads else 1
        self._frames = None          # generator of decoded frames in presentation order
        self._skip_before = -(1 << 62)  # disposable pictures before this PTS are not decoded
        self._last = -1              # index of the last frame the generator produced (-1: none / unknown)
        if raw_cache is None:
            # A GOP's worth of decoded pictures (what stepping backwards needs), within a memory budget.
            per_picture = max(1, owner._stored_pixels * 3 // 2 * (2 if owner._colour.bit_depth > 8 else 1))
            cap = max(4, min(owner._max_gop + 2, 48, RAW_CACHE_BYTES // per_picture))
        else:
            cap = raw_cache
        self._raw_cap = cap
        self._raw: OrderedDict[int, object] = OrderedDict()

    def close(self) -> None:
        if self._frames is not None:
            self._frames.close()
            self._frames = None
        self._raw.clear()
        self.owner._close_container(self.container)

    def _keep(self, idx: int, frame) -> None:
        if self._raw_cap <= 0:
            return
        self._raw[idx] = frame
        self._raw.move_to_end(idx)
        while len(self._raw) > self._raw_cap:
            self._raw.popitem(last=False)

    def _seek(self, key: int) -> None:
        """Position the demuxer on keyframe ``key`` (an index into the presentation order).

        FFmpeg's mov demuxer takes the seek target as a presentation time (it subtracts the stream's
        composition shift before searching its DTS index), so the keyframe's PTS lands exactly on it;
        ``decode_to`` verifies by PTS and steps back a keyframe if the demuxer overshoots."""
        owner = self.owner
        if self._frames is not None:
            self._frames.close()
        owner.stats["seeks"] += 1
        self.container.seek(int(owner._pts[key]), stream=self.stream, backward=True, any_frame=False)
        self._seek_key = key
        self._frames = self._decode_packets()
        self._last = -1

    def _decode_packets(self):
        for packet in self.container.demux(self.stream):
            # A disposable picture (nothing references it; the file's sdtp says so) before the target is
            # not sent to the decoder at all: skipping it cannot change any other picture.
            if packet.size and packet.is_disposable and packet.pts is not None and packet.pts < self._skip_before:
                self.owner.stats["skipped"] += 1
                continue
            yield from packet.decode()  # the final empty packet drains the decoder

    def _next(self):
        """The next decoded frame and its index, or (None, None) at the end of the stream."""
        owner = self.owner
        for frame in self._frames:
            owner.stats["decoded"] += 1
            idx = owner._pts_to_index.get(frame.pts) if frame.pts is not None else None
            if idx is None:
                continue  # a picture outside the presentation (edit list) or without timestamp
            # Pictures shown before the keyframe decoding started from (open-GOP leading pictures) may
            # reference what was never decoded: they are not cached.
            if self._fill and idx >= self._seek_key and not owner._closed:
                owner._pictures.put_frame(idx, frame)
            return idx, frame
        return None, None

    def decode_to(self, i: int, keep_all: bool = False):
        """The decoded picture of frame ``i``: from the cache, by decoding forward from the current position
        when no keyframe lies in between, else by seeking to the keyframe before ``i``.

        ``keep_all`` decodes every picture on the way (none skipped) so that they are all cached: what
        stepping backwards wants."""
        hit = self._raw.get(i)
        if hit is not None:
            self._raw.move_to_end(i)
            return hit
        owner = self.owner
        key = int(owner._key_of[i])
        self._skip_before = -(1 << 62) if keep_all else int(owner._pts[i])
        try:
            # Decoding forward is right when the decoder sits before i with no keyframe in between;
            # otherwise seeking to i's keyframe decodes fewer pictures.
            forward = self._frames is not None and 0 <= self._last < i and key <= self._last + 1
            if not forward:
                self._seek(key)
            while True:
                idx, frame = self._next()
                if idx is None:
                    raise owner._error(f"ended before frame {i} could be decoded")
                if idx > i and self._last == -1 and key > 0:
                    # The demuxer landed after the wanted keyframe: start from the keyframe before it.
                    key = int(owner._key_of[key - 1])
                    self._seek(key)
                    continue
                self._last = idx
                self._keep(idx, frame)
                if idx == i:
                    return frame
                if idx > i:
                    raise owner._error(f"skipped frame {i} (decoder went from the keyframe at {key} to {idx})")
        except _av_errors() as exc:
            self._frames = None
            raise owner._error(f"could not decode frame {i}", exc) from exc
        except DecodeError:
            self._frames = None
            raise

    def run_from(self, start: int) -> Iterator[tuple[int, object]]:
        """Sequential decode from the keyframe before ``start`` to the end."""
        owner = self.owner
        try:
            self._skip_before = int(owner._pts[start])
            self._seek(int(owner._key_of[start]))
            while True:
                idx, frame = self._next()
                if idx is None:
                    return
                yield idx, frame
        except _av_errors() as exc:
            raise owner._error("could not be decoded", exc) from exc


class _PictureCache:
    """Decoded pictures (PyAV frames, i.e. references to the decoder's own YUV buffers: no copy, ~4 MB at
    1440×1920 8-bit 4:2:0) by frame index, least recently used first out, within a byte budget.

    The frames themselves are kept, not copies of their planes: swscale also reads a frame's chroma siting,
    which a rebuilt frame would lose (a 10-bit HLG clip then converts differently), so converting a kept frame
    is bit-exact with converting it straight out of the decoder. A decoder never writes into a buffer that is
    still referenced. Its own lock guards only the dictionary, so readers convert unlocked."""

    def __init__(self, budget: int):
        self.budget = max(0, int(budget))
        self._items: OrderedDict[int, object] = OrderedDict()   # index → (frame, bytes)
        self._lock = threading.Lock()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, i: int) -> bool:
        return i in self._items

    def get(self, i: int):
        with self._lock:
            hit = self._items.get(i)
            if hit is None:
                return None
            self._items.move_to_end(i)
            return hit[0]

    def put_frame(self, i: int, frame) -> None:
        if self.budget <= 0 or i in self._items:
            return
        size = sum(plane.buffer_size for plane in frame.planes)
        if size > self.budget:
            return
        with self._lock:
            if i in self._items:
                return
            self._items[i] = (frame, size)
            self.nbytes += size
            while self.nbytes > self.budget:
                _, (_, old) = self._items.popitem(last=False)
                self.nbytes -= old

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0


def _looks_like_bmff(path: Path) -> bool:
    """QuickTime / MP4 (ISO-BMFF): the first box is one of the usual top-level boxes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return len(head) == 8 and head[4:8] in MOVIE_FIRST_BOXES


def _rotate(rgb: np.ndarray, clockwise: int) -> np.ndarray:
    import cv2

    if clockwise == 90:
        return cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)
    if clockwise == 180:
        return cv2.rotate(rgb, cv2.ROTATE_180)
    if clockwise == 270:
        return cv2.rotate(rgb, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return np.ascontiguousarray(rgb)


def fit_within(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """``rgb`` scaled down (area filter) so its long side is at most ``max_side``; a copy when already small."""
    import cv2

    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb.copy()
    s = max_side / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
