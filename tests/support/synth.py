"""Write synthetic Live Photos: Apple pairs (HEIC/JPEG + MOV) and Google Motion Photo JPEGs, plus the demo.

Used by tests (every reader path can be exercised without camera files) and by the app's "Try the demo".
Nothing is downloaded: the demo scene is drawn procedurally.

* Apple pair: the still carries EXIF with an Apple MakerNote (``Apple iOS`` header, tag 0x0011
  ContentIdentifier); the MOV is encoded with PyAV (``movflags=use_metadata_tags`` writes the
  ``com.apple.quicktime.content.identifier`` key) and is then edited box by box, the way iPhones lay it out:
  the ``mdta`` keys move to ``moov/meta`` and a timed-metadata (``mebx``) track with the key
  ``com.apple.quicktime.still-image-time`` is added, whose edit list ``[empty N][1 tick]`` puts the key photo
  at N / movie timescale.
* Motion Photo JPEG (Google v1.0): EXIF, an APP1 XMP with the Camera/Container namespaces (Primary + MotionPhoto
  items, ``MotionPhotoPresentationTimestampUs``), then the MP4 appended. Optionally the v1 MicroVideo tags, the
  ``Camera:`` prefix, or the directory moved into an extended-XMP block.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from livemoments_app.core.livephoto import xmp as xmp_ns
from livemoments_app.core.livephoto.apple import KEY_CONTENT_IDENTIFIER, KEY_STILL_IMAGE_TIME

TIME_BASE = Fraction(1, 600)


# ------------------------------------------------------------------------------------------------ EXIF


def _ifd(entries: list[tuple[int, int, int, bytes]], start: int) -> tuple[bytes, bytes]:
    """One big-endian IFD placed at ``start`` (TIFF-relative): (directory bytes, value area after it)."""
    entries = sorted(entries)
    table = struct.pack(">H", len(entries))
    area = b""
    area_start = start + 2 + 12 * len(entries) + 4
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            table += struct.pack(">HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            table += struct.pack(">HHII", tag, typ, count, area_start + len(area))
            area += value + (b"\0" if len(value) % 2 else b"")
    return table + b"\0\0\0\0", area


def apple_maker_note(content_identifier: str) -> bytes:
    """An Apple MakerNote with tag 0x0011 (offsets relative to the MakerNote start, as iOS writes them)."""
    value = content_identifier.encode("ascii") + b"\0"
    header = b"Apple iOS\0" + b"\x00\x01" + b"MM"
    directory, area = _ifd([(0x0011, 2, len(value), value)], len(header))
    return header + directory + area


def build_exif(*, make: str = "Apple", model: str = "LiveMoments synthetic", orientation: int = 1,
               maker_note: bytes | None = None, software: str = "LiveMoments synth") -> bytes:
    """A TIFF/EXIF buffer (no 'Exif\\0\\0' prefix) with IFD0 + an Exif IFD holding the maker note."""
    make_b, model_b, soft_b = make.encode() + b"\0", model.encode() + b"\0", software.encode() + b"\0"
    ifd0_entries = [(0x010F, 2, len(make_b), make_b), (0x0110, 2, len(model_b), model_b),
                    (0x0112, 3, 1, struct.pack(">H", orientation)), (0x0131, 2, len(soft_b), soft_b),
                    (0x8769, 4, 1, b"\0\0\0\0")]
    ifd0, area0 = _ifd(ifd0_entries, 8)
    exif_start = 8 + len(ifd0) + len(area0)
    exif_entries = [(0x9000, 7, 4, b"0232")]
    if maker_note is not None:
        exif_entries.append((0x927C, 7, len(maker_note), maker_note))
    exif_ifd, exif_area = _ifd(exif_entries, exif_start)
    ifd0_entries[-1] = (0x8769, 4, 1, struct.pack(">I", exif_start))
    ifd0, area0 = _ifd(ifd0_entries, 8)
    return b"MM\x00*" + struct.pack(">I", 8) + ifd0 + area0 + exif_ifd + exif_area


# ------------------------------------------------------------------------------------------------ stills


def still_bytes(pixels: np.ndarray, fmt: str = "jpeg", *, exif: bytes | None = None,
                icc_profile: bytes | None = None, xmp: bytes | None = None, quality: int = 92) -> bytes:
    """An RGB still encoded as "jpeg" or "heic" with the given EXIF (TIFF, no prefix), ICC profile and XMP."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(pixels[..., :3]).astype(np.uint8), "RGB")
    kwargs: dict = {"quality": quality}
    if exif is not None:
        kwargs["exif"] = b"Exif\x00\x00" + exif
    if xmp is not None:
        kwargs["xmp"] = xmp
    out = io.BytesIO()
    if fmt == "heic":
        import pillow_heif

        heif = pillow_heif.from_pillow(image)
        if icc_profile is not None:
            heif.info["icc_profile"] = icc_profile
        heif.save(out, **kwargs)
    else:
        if icc_profile is not None:
            kwargs["icc_profile"] = icc_profile
        image.save(out, "JPEG", **kwargs)
    return out.getvalue()


def write_still(path: Path, pixels: np.ndarray, *, exif: bytes | None = None, icc_profile: bytes | None = None,
                quality: int = 92) -> Path:
    """Write an RGB still as JPEG or HEIC (by extension) with the given EXIF and ICC profile."""
    fmt = "heic" if path.suffix.lower() in (".heic", ".heif") else "jpeg"
    path.write_bytes(still_bytes(pixels, fmt, exif=exif, icc_profile=icc_profile, quality=quality))
    return path


def srgb_icc_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ------------------------------------------------------------------------------------------------ video


def encode_video(frames: Sequence[np.ndarray], out, *, fps: float = 30.0, container_format: str = "mov",
                 codec: str = "libx264", crf: int = 23, metadata: dict[str, str] | None = None,
                 times: Sequence[float] | None = None) -> None:
    """Encode RGB frames with PyAV into ``out`` (a path or a seekable binary file).

    ``times`` (seconds) gives each frame's presentation time for a variable frame rate; by default i / fps.
    """
    import av

    if not len(frames):
        raise ValueError("no frames to encode")
    height, width = frames[0].shape[:2]
    options = {"movflags": "use_metadata_tags"} if metadata else {}
    target = os.fspath(out) if isinstance(out, (str, os.PathLike)) else out
    with av.open(target, "w", format=container_format, options=options) as container:
        for key, value in (metadata or {}).items():
            container.metadata[key] = value
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = TIME_BASE
        stream.options = {"crf": str(crf), "preset": "veryfast"} if codec in ("libx264", "libx265") else {}
        if codec == "libx265":
            stream.options["x265-params"] = "log-level=error"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:stream.height, :stream.width, :3]),
                                               format="rgb24")
            t = times[i] if times is not None else i / fps
            frame.pts = int(round(t / TIME_BASE))
            frame.time_base = TIME_BASE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def _still_image_time_trak(track_id: int, video_track_id: int, movie_timescale: int, empty_ticks: int,
                           sample_offset: int) -> bytes:
    identity = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = _full(b"tkhd", 0, 0x3, struct.pack(">IIIII", 0, 0, track_id, 0, empty_ticks + 1) + b"\0" * 8
                 + struct.pack(">hhhH", 0, 0, 0, 0) + identity + struct.pack(">II", 0, 0))
    tref = _box(b"tref", _box(b"cdsc", struct.pack(">I", video_track_id)))
    elst = _full(b"elst", 0, 0, struct.pack(">I", 2) + struct.pack(">Iii", empty_ticks, -1, 0x10000)
                 + struct.pack(">Iii", 1, 0, 0x10000))
    mdhd = _full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, movie_timescale, 1, 0x55C4, 0))
    hdlr = _full(b"hdlr", 0, 0, b"mhlr" + b"meta" + b"\0" * 12 + b"Core Media Metadata\0")
    key = _box(b"keyd", b"mdta" + KEY_STILL_IMAGE_TIME.encode()) + _box(b"dtyp", struct.pack(">II", 0, 65))
    mebx = _box(b"mebx", b"\0" * 6 + struct.pack(">H", 1) + _box(b"keys", _box(struct.pack(">I", 1), key)))
    stbl = _box(b"stbl", _full(b"stsd", 0, 0, struct.pack(">I", 1) + mebx)
                + _full(b"stts", 0, 0, struct.pack(">III", 1, 1, 1))
                + _full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1))
                + _full(b"stsz", 0, 0, struct.pack(">III", 0, 1, 9))
                + _full(b"stco", 0, 0, struct.pack(">II", 1, sample_offset)))
    dinf = _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1) + _full(b"url ", 0, 1, b"")))
    minf = _box(b"minf", _full(b"nmhd", 0, 0, b"") + dinf + stbl)
    mdia = _box(b"mdia", mdhd + hdlr + minf)
    return _box(b"trak", tkhd + tref + _box(b"edts", elst) + mdia)


def apple_layout_mov(data: bytes, key_time_s: float | None) -> bytes:
    """Rewrite a PyAV-made MOV the way iPhones lay it out: 'mdta' keys in moov/meta, and (when ``key_time_s``
    is given) a still-image-time ``mebx`` track. The media data is untouched ('moov' must be the last box)."""
    from livemoments_app.core.livephoto import bmff
    from livemoments_app.core.livephoto.bmff import ByteSource

    src = ByteSource(data)
    top = list(bmff.iter_boxes(src))
    moov = next(b for b in top if b.type == "moov")
    if moov is not top[-1]:
        raise ValueError("the movie header must be the last box to add a track without moving media data")
    kids = list(bmff.children(src, moov))
    mvhd = next(b for b in kids if b.type == "mvhd")
    timescale = bmff.parse_mvhd(src, mvhd)["timescale"]
    traks = [b for b in kids if b.type == "trak"]
    track_ids = [bmff.parse_tkhd(src, bmff.find(src, "tkhd", within=t))["track_id"] for t in traks]
    parts: list[bytes] = []
    meta_bytes = b""
    for box in kids:
        raw = src.read(box.start, box.size)
        if box.type == "udta":
            inner = list(bmff.children(src, box))
            for meta in (b for b in inner if b.type == "meta"):
                body = src.read(meta.payload_start, meta.payload_size)
                if body[4:8] != b"hdlr":     # FFmpeg writes an ISO full box; QuickTime's moov/meta has no
                    body = body[4:]          # version/flags, and readers such as exiftool expect that
                meta_bytes += _box(b"meta", body)
            rest = b"".join(src.read(b.start, b.size) for b in inner if b.type != "meta")
            if rest:
                parts.append(_box(b"udta", rest))
            continue
        if box.type == "mvhd":
            next_id = max(track_ids, default=0) + (2 if key_time_s is not None else 1)
            raw = raw[:-4] + struct.pack(">I", next_id)
        parts.append(raw)
    new_trak = b""
    if key_time_s is not None:
        empty = max(0, int(round(key_time_s * timescale)))
        # the sample goes into an 'mdat' appended after the new moov; its offset depends on the moov size,
        # which the offset field itself does not change
        probe = _still_image_time_trak(max(track_ids) + 1, track_ids[0], timescale, empty, 0)
        moov_size = 8 + sum(len(p) for p in parts) + len(meta_bytes) + len(probe)
        sample_offset = moov.start + moov_size + 8
        new_trak = _still_image_time_trak(max(track_ids) + 1, track_ids[0], timescale, empty, sample_offset)
    head = [p for p in parts if p[4:8] == b"mvhd"]
    body = [p for p in parts if p[4:8] != b"mvhd"]
    new_moov = _box(b"moov", b"".join(head) + b"".join(p for p in body if p[4:8] == b"trak") + new_trak
                    + meta_bytes + b"".join(p for p in body if p[4:8] != b"trak"))
    out = data[:moov.start] + new_moov
    if key_time_s is not None:
        out += _box(b"mdat", struct.pack(">II", 9, 1) + b"\xff")   # one int8 sample: -1, as iOS writes it
    return out


# ------------------------------------------------------------------------------------------------ writers


def pattern_frames(count: int = 12, size: tuple[int, int] = (192, 144), seed: int = 0) -> list[np.ndarray]:
    """Small frames with a gradient, a texture and a square that moves: every frame is distinct."""
    width, height = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1),
                     np.full_like(xx, 96)], axis=-1).astype(np.uint8)
    base = np.clip(base.astype(np.int16) + rng.integers(-12, 12, base.shape), 0, 255).astype(np.uint8)
    frames = []
    for i in range(count):
        frame = base.copy()
        x = int((width - height // 3) * i / max(1, count - 1))
        frame[height // 3:2 * height // 3, x:x + height // 3] = (240, 240, 40)
        frames.append(frame)
    return frames


def _upscale(rgb: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1) if factor > 1 else rgb


def write_apple_pair(directory: str | os.PathLike, *, stem: str = "IMG_0001", still_format: str = "heic",
                     content_identifier: str | None = None, video_content_identifier: str | None = None,
                     frames: Sequence[np.ndarray] | None = None, still: np.ndarray | None = None,
                     key_index: int | None = None, fps: float = 30.0, still_image_time: bool = True,
                     icc_profile: bytes | None = None, mov_suffix: str = ".MOV") -> tuple[Path, Path]:
    """An Apple Live Photo pair: ``<stem>.<still_format>`` + ``<stem>.MOV``; returns (still, mov).

    The key photo is ``still`` (default: frame ``key_index`` at twice the size). ``video_content_identifier``
    lets a test write a mismatching pair; ``still_image_time=False`` writes a MOV without the key-time track.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    frames = list(frames) if frames is not None else pattern_frames()
    key_index = len(frames) * 2 // 3 if key_index is None else key_index
    cid = content_identifier or str(uuid.uuid4()).upper()
    still_pixels = still if still is not None else _upscale(frames[key_index], 2)
    ext = {"heic": ".HEIC", "jpeg": ".JPG", "jpg": ".JPG"}[still_format.lower()]
    still_path = write_still(directory / f"{stem}{ext}", still_pixels,
                             exif=build_exif(maker_note=apple_maker_note(cid)), icc_profile=icc_profile)
    buf = io.BytesIO()
    encode_video(frames, buf, fps=fps, container_format="mov",
                 metadata={KEY_CONTENT_IDENTIFIER: video_content_identifier or cid})
    key_time = key_index / fps if still_image_time else None
    mov_path = directory / f"{stem}{mov_suffix}"
    mov_path.write_bytes(apple_layout_mov(buf.getvalue(), key_time))
    return still_path, mov_path


NS = {"x": "adobe:ns:meta/", "rdf": xmp_ns.NS_RDF, "camera": xmp_ns.NS_CAMERA, "container": xmp_ns.NS_CONTAINER,
      "item": xmp_ns.NS_ITEM, "xmpNote": xmp_ns.NS_XMP_NOTE}


def _xmp_packet(description_attrs: str, body: str = "", namespaces: str = "") -> bytes:
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            f'<x:xmpmeta xmlns:x="{NS["x"]}"><rdf:RDF xmlns:rdf="{NS["rdf"]}">'
            f'<rdf:Description rdf:about="" {namespaces} {description_attrs}>{body}</rdf:Description>'
            f'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode("utf-8")


def _directory_xml(container: str, item: str, video_length: int) -> str:
    def li(mime, semantic, length):
        return (f'<rdf:li rdf:parseType="Resource"><{container}:Item {item}:Mime="{mime}" '
                f'{item}:Semantic="{semantic}" {item}:Length="{length}" {item}:Padding="0"/></rdf:li>')
    return (f"<{container}:Directory><rdf:Seq>{li('image/jpeg', 'Primary', 0)}"
            f"{li('video/mp4', 'MotionPhoto', video_length)}</rdf:Seq></{container}:Directory>")


def _insert_app1(jpeg: bytes, payloads: list[bytes]) -> bytes:
    """Insert APP1 segments after SOI and the existing APP0/APP1 segments."""
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and jpeg[pos + 1] in (0xE0, 0xE1):
        pos += 2 + struct.unpack(">H", jpeg[pos + 2:pos + 4])[0]
    segments = b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in payloads)
    return jpeg[:pos] + segments + jpeg[pos:]


def write_motion_photo_jpeg(path: str | os.PathLike, *, frames: Sequence[np.ndarray] | None = None,
                            still: np.ndarray | None = None, key_index: int | None = None, fps: float = 30.0,
                            timestamp_us: int | None = None, prefix: str = "GCamera", micro_video: bool = False,
                            extended_xmp: bool = False, exif: bytes | None = None, quality: int = 92,
                            crf: int = 23, icc_profile: bytes | None = None) -> Path:
    """A Google Motion Photo JPEG (format v1.0; MicroVideo v1 with ``micro_video``); returns its path.

    ``timestamp_us`` defaults to frame ``key_index``'s time; pass -1 to write "unknown".
    """

    path = Path(path)
    frames = list(frames) if frames is not None else pattern_frames()
    key_index = len(frames) // 2 if key_index is None else key_index
    still_pixels = still if still is not None else _upscale(frames[key_index], 2)
    ts = int(round(key_index / fps * 1e6)) if timestamp_us is None else int(timestamp_us)
    video = io.BytesIO()
    encode_video(frames, video, fps=fps, container_format="mp4", crf=crf)
    video_bytes = video.getvalue()
    jpeg = still_bytes(still_pixels, exif=exif, icc_profile=icc_profile, quality=quality)
    cam = prefix
    if micro_video:
        xmp = _xmp_packet(f'{cam}:MicroVideo="1" {cam}:MicroVideoVersion="1" '
                          f'{cam}:MicroVideoOffset="{len(video_bytes)}" {cam}:MicroVideoPresentationTimestampUs="{ts}"',
                          namespaces=f'xmlns:{cam}="{NS["camera"]}"')
        payloads = [b"http://ns.adobe.com/xap/1.0/\x00" + xmp]
    else:
        container, item = ("GContainer", "GContainerItem") if prefix == "GCamera" and extended_xmp else (
            "Container", "Item")
        ns_decl = (f'xmlns:{cam}="{NS["camera"]}" xmlns:{container}="{NS["container"]}" '
                   f'xmlns:{item}="{NS["item"]}"')
        attrs = f'{cam}:MotionPhoto="1" {cam}:MotionPhotoVersion="1" {cam}:MotionPhotoPresentationTimestampUs="{ts}"'
        directory = _directory_xml(container, item, len(video_bytes))
        if extended_xmp:
            extended = _xmp_packet("", directory, ns_decl)
            guid = hashlib.md5(extended).hexdigest().upper()
            main = _xmp_packet(f'{attrs} xmpNote:HasExtendedXMP="{guid}"',
                               namespaces=f'{ns_decl} xmlns:xmpNote="{NS["xmpNote"]}"')
            payloads = [b"http://ns.adobe.com/xap/1.0/\x00" + main]
            chunk = 60000
            for off in range(0, len(extended), chunk):
                payloads.append(b"http://ns.adobe.com/xmp/extension/\x00" + guid.encode()
                                + struct.pack(">II", len(extended), off) + extended[off:off + chunk])
        else:
            payloads = [b"http://ns.adobe.com/xap/1.0/\x00" + _xmp_packet(attrs, directory, ns_decl)]
    path.write_bytes(_insert_app1(jpeg, payloads) + video_bytes)
    return path


def _samsung_sef(motion_data: bytes) -> tuple[bytes, int]:
    """The SEF trailer a Samsung camera writes (a UTC block, then MotionPhoto_Data holding ``motion_data``), as
    write-back builds it; also where ``motion_data`` starts in it."""
    from livemoments_app.core.export.writeback_motion import SefBlock, build_sef

    return build_sef([SefBlock(0x0A01, b"Image_UTC_Data", b"1705124333853"),
                      SefBlock(0x0A30, b"MotionPhoto_Data", b"")], motion_data)


def _google_xmp(ts: int, items: Sequence[tuple[str, str, int, int]]) -> bytes:
    ns_decl = (f'xmlns:GCamera="{NS["camera"]}" xmlns:Container="{NS["container"]}" xmlns:Item="{NS["item"]}"')
    lis = "".join(f'<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="{mime}" Item:Semantic="{sem}" '
                  f'Item:Length="{length}" Item:Padding="{padding}"/></rdf:li>' for mime, sem, length, padding in items)
    return _xmp_packet(f'GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" '
                       f'GCamera:MotionPhotoPresentationTimestampUs="{ts}"',
                       f"<Container:Directory><rdf:Seq>{lis}</rdf:Seq></Container:Directory>", ns_decl)


def write_samsung_motion_photo_jpeg(path: str | os.PathLike, *, frames: Sequence[np.ndarray] | None = None,
                                    still: np.ndarray | None = None, key_index: int | None = None,
                                    fps: float = 30.0, xmp: bool = True) -> Path:
    """A Samsung JPEG Motion Photo: JPEG, then the SEF trailer whose 0x0a30 'MotionPhoto_Data' block is the MP4.

    As Samsung writes it, the XMP MotionPhoto Length counts from the MP4 to the end of the file (SEF included).
    """

    path = Path(path)
    frames = list(frames) if frames is not None else pattern_frames()
    key_index = len(frames) - 1 if key_index is None else key_index     # Samsung keys near the end
    still_pixels = still if still is not None else _upscale(frames[key_index], 2)
    video = io.BytesIO()
    encode_video(frames, video, fps=fps, container_format="mp4")
    mp4 = video.getvalue()
    trailer, mp4_at = _samsung_sef(mp4)
    tail = len(trailer) - mp4_at                         # from the MP4 to the end of the file
    data = still_bytes(still_pixels, exif=build_exif(make="samsung", model="SM-S906B"))
    if xmp:
        packet = _google_xmp(int(round(key_index / fps * 1e6)),
                             [("image/jpeg", "Primary", 0, 0), ("video/mp4", "MotionPhoto", tail, tail - len(mp4))])
        data = _insert_app1(data, [b"http://ns.adobe.com/xap/1.0/\x00" + packet])
    path.write_bytes(data + trailer)
    return path


def write_samsung_motion_photo_heic(path: str | os.PathLike, *, frames: Sequence[np.ndarray] | None = None,
                                    still: np.ndarray | None = None, key_index: int | None = None,
                                    fps: float = 30.0, one_ui: int = 6, mpvd_largesize: bool = False) -> Path:
    """A Samsung HEIC Motion Photo: HEIC, a top-level 'mpvd' box holding the MP4, and the SEF data in a 'sefd'
    box, top level (One UI 6) or nested at the end of 'mpvd' (One UI 5). The SEF 0x0a30 entry is 'mpv2' +
    absolute offset + size of the MP4; the XMP directory points at the MP4 too."""

    path = Path(path)
    frames = list(frames) if frames is not None else pattern_frames()
    key_index = len(frames) - 1 if key_index is None else key_index
    still_pixels = still if still is not None else _upscale(frames[key_index], 2)
    video = io.BytesIO()
    encode_video(frames, video, fps=fps, container_format="mp4")
    mp4 = video.getvalue()
    mpvd_header = 16 if mpvd_largesize else 8
    exif = build_exif(make="samsung", model="SM-S906B")

    def encode(heic_len: int) -> tuple[bytes, bytes]:
        mp4_at = heic_len + mpvd_header
        sef, _ = _samsung_sef(b"mpv2" + struct.pack(">II", mp4_at, len(mp4)))
        sefd = _box(b"sefd", sef)
        inner = mp4 + (sefd if one_ui == 5 else b"")
        if mpvd_largesize:
            mpvd = struct.pack(">I4sQ", 1, b"mpvd", 16 + len(inner)) + inner
        else:
            mpvd = _box(b"mpvd", inner)
        tail = mpvd + (sefd if one_ui != 5 else b"")
        # fixed-width numbers keep the XMP (and so the HEIC) the same size on the second pass
        items = [("image/heic", "Primary", f"{heic_len:010d}", mpvd_header),
                 ("video/mp4", "MotionPhoto", f"{len(tail) - mpvd_header:010d}", len(sefd))]
        packet = _google_xmp(int(round(key_index / fps * 1e6)), items)  # type: ignore[arg-type]
        return still_bytes(still_pixels, "heic", exif=exif, xmp=packet, quality=85), tail

    heic, _ = encode(0)
    heic2, tail = encode(len(heic))
    if len(heic2) != len(heic):
        raise RuntimeError("HEIC size changed between passes")
    path.write_bytes(heic2 + tail)
    return path


# ------------------------------------------------------------------------------------------------ demo

SCENE_STILL_SIZE = (2000, 1500)
SCENE_CLIP_SIZE = (800, 600)
SCENE_FPS = 30
SCENE_FRAMES = 60
SCENE_KEY_INDEX = 36


def _smooth_ridge(width: int, base: float, amp: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width)
    y = np.full(width, base)
    for k in range(1, 6):
        y += amp / k * np.sin(2 * np.pi * (k * 1.3 * x + rng.random()))
    return y


def _demo_world(width: int, height: int) -> "Image.Image":  # noqa: F821
    """The static scene at still resolution: sky, sun, hills, a textured field, a signboard with text."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    yy = np.linspace(0, 1, height)[:, None, None]
    top, horizon = np.array([40, 90, 170], np.float32), np.array([250, 196, 140], np.float32)
    sky = (top + (horizon - top) * yy ** 1.4) * np.ones((1, width, 1), np.float32)
    world = Image.fromarray(sky.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(world)
    sun = (int(width * 0.72), int(height * 0.33))
    glow = Image.new("L", (width, height), 0)
    ImageDraw.Draw(glow).ellipse([sun[0] - 220, sun[1] - 220, sun[0] + 220, sun[1] + 220], fill=150)
    world.paste(Image.new("RGB", (width, height), (255, 236, 190)), (0, 0), glow.filter(ImageFilter.GaussianBlur(90)))
    draw.ellipse([sun[0] - 70, sun[1] - 70, sun[0] + 70, sun[1] + 70], fill=(255, 246, 220))
    for layer, (base, amp, colour, seed) in enumerate([(0.52, 0.06, (104, 118, 160), 1),
                                                         (0.60, 0.05, (70, 100, 110), 2),
                                                         (0.68, 0.03, (60, 118, 70), 3)]):
        ridge = _smooth_ridge(width, base * height, amp * height, seed)
        draw.polygon([(0, height)] + [(x, float(ridge[x])) for x in range(0, width, 8)] + [(width, height)],
                     fill=colour)
    rng = np.random.default_rng(7)
    field_top = int(0.72 * height)
    for _ in range(2600):            # grass blades: fine detail the video loses
        x = int(rng.integers(0, width))
        y = int(rng.integers(field_top, height))
        length = int(6 + (y - field_top) / (height - field_top) * 26)
        shade = int(rng.integers(60, 150))
        draw.line([(x, y), (x + int(rng.integers(-4, 5)), y - length)], fill=(30, shade, 40), width=2)
    # a signboard with text at several sizes, and a fence with thin slats
    board = (int(width * 0.08), int(height * 0.56), int(width * 0.46), int(height * 0.80))
    draw.rectangle([board[0] + 70, board[3], board[0] + 86, int(height * 0.92)], fill=(90, 60, 40))
    draw.rectangle([board[2] - 86, board[3], board[2] - 70, int(height * 0.92)], fill=(90, 60, 40))
    draw.rounded_rectangle(board, radius=18, fill=(246, 240, 226), outline=(90, 60, 40), width=8)
    try:
        big, small = ImageFont.load_default(size=int(height * 0.07)), ImageFont.load_default(size=int(height * 0.024))
    except TypeError:               # Pillow without FreeType: the bitmap font, still legible
        big = small = ImageFont.load_default()
    draw.text((board[0] + 40, board[1] + 30), "LiveMoments", fill=(180, 60, 50), font=big)
    lines = ["Pick any moment of a Live Photo.", "The key photo lends it its detail:",
             "fine print, grass blades, fence slats."]
    for i, line in enumerate(lines):
        draw.text((board[0] + 44, board[1] + int(height * 0.11) + i * int(height * 0.032)), line,
                  fill=(40, 40, 48), font=small)
    fence_y = int(height * 0.74)
    for x in range(int(width * 0.55), width, 22):
        draw.rectangle([x, fence_y, x + 9, fence_y + int(height * 0.12)], fill=(236, 228, 210),
                       outline=(120, 100, 80))
    draw.rectangle([int(width * 0.55), fence_y + 30, width, fence_y + 40], fill=(200, 186, 160))
    return world


def _ball_position(t: float, width: int, height: int) -> tuple[float, float]:
    """A ball thrown across the scene: left to right on a parabola over the clip's two seconds."""
    u = t / ((SCENE_FRAMES - 1) / SCENE_FPS)
    x = width * (0.15 + 0.7 * u)
    y = height * (0.62 - 0.9 * u * (1 - u))
    return x, y


def _draw_ball(image, centre: tuple[float, float], radius: float) -> None:
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    cx, cy = centre
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=(214, 40, 48))
    draw.arc([cx - radius, cy - radius * 0.5, cx + radius, cy + radius * 0.5], 0, 180, fill=(255, 255, 255),
             width=max(1, int(radius * 0.12)))
    draw.ellipse([cx - radius * 0.45, cy - radius * 0.6, cx - radius * 0.1, cy - radius * 0.3],
                 fill=(255, 170, 170))


def _camera_offset(t: float) -> tuple[float, float]:
    """Hand-held drift in still pixels: a slow sway plus a little shake."""
    return 34 * math.sin(2.1 * t) + 6 * math.sin(17 * t), 22 * math.sin(1.4 * t + 0.5) + 5 * math.cos(13 * t)


def make_scene_live_photo(directory: str | os.PathLike) -> Path:
    """Draw the demo scene and write it as a Google Motion Photo JPEG; returns the file's path.

    The still (2000×1500, crisp) is the key photo at frame 36 (1.2 s); the clip (800×600, 2 s at 30 fps)
    is downscaled, slightly blurred, noisy and compressed, as phone clips are.
    """
    import cv2
    from PIL import Image

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    still_w, still_h = SCENE_STILL_SIZE
    clip_w, clip_h = SCENE_CLIP_SIZE
    margin = 80
    world = _demo_world(still_w + 2 * margin, still_h + 2 * margin)
    scale = clip_w / still_w
    world_small = world.resize((round(world.width * scale), round(world.height * scale)), Image.BILINEAR)
    rng = np.random.default_rng(11)
    # sensor noise: a few luminance fields reused in turn (drawing fresh noise per frame costs seconds)
    noise = [rng.normal(0, 3.0, (clip_h, clip_w, 1)).astype(np.int16) for _ in range(4)]
    frames = []
    for i in range(SCENE_FRAMES):
        t = i / SCENE_FPS
        dx, dy = _camera_offset(t)
        frame = world_small.copy()
        bx, by = _ball_position(t, still_w, still_h)
        _draw_ball(frame, ((bx + margin) * scale, (by + margin) * scale), 46 * scale)
        x0, y0 = round((margin + dx) * scale), round((margin + dy) * scale)
        rgb = np.asarray(frame)[y0:y0 + clip_h, x0:x0 + clip_w]
        rgb = cv2.GaussianBlur(rgb, (0, 0), 0.9)
        frames.append(np.clip(rgb.astype(np.int16) + noise[i % len(noise)], 0, 255).astype(np.uint8))
    t_key = SCENE_KEY_INDEX / SCENE_FPS
    dx, dy = _camera_offset(t_key)
    still = world.copy()
    bx, by = _ball_position(t_key, still_w, still_h)
    _draw_ball(still, (bx + margin, by + margin), 46)
    still = still.crop((round(margin + dx), round(margin + dy), round(margin + dx) + still_w,
                        round(margin + dy) + still_h))
    exif = build_exif(make="LiveMoments", model="Demo scene")
    return write_motion_photo_jpeg(directory / "LiveMoments-demo.MP.jpg", frames=frames, still=np.asarray(still),
                                   key_index=SCENE_KEY_INDEX, fps=SCENE_FPS, exif=exif, quality=94, crf=30,
                                   icc_profile=srgb_icc_profile())
