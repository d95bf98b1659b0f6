"""Export a restored still as JPEG, HEIC or PNG with the key photo's metadata, colour profile and XMP.

Pixels arrive upright and in the key photo's colour space (the restorers work there), so the key photo's ICC
profile is attached unchanged and EXIF Orientation is written as 1. Each metadata field that cannot be carried
is listed in ``ExportResult.skipped``; it never stops the export.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from livemoments_app.core.errors import ExportError
from livemoments_app.core.export import exif_edit, files, xmp_edit
from livemoments_app.core.export.encoder_process import run_encoder
from livemoments_app.core.hdr.model import GainMap
from livemoments_app.core.jobs import Cancelled, Progress, no_progress
from livemoments_app.core.livephoto.tiff import strip_exif_prefix

FORMATS = ("jpeg", "heic", "png")
EXTENSIONS = {"jpeg": ".jpg", "heic": ".heic", "png": ".png"}
_EXT_TO_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".heic": "heic", ".heif": "heic", ".hif": "heic", ".png": "png"}
_MIME_TO_FORMAT = {"image/jpeg": "jpeg", "image/heic": "heic", "image/heif": "heic", "image/png": "png"}
JPEG_APP1_MAX = 65533 - 2

# x265's own default preset takes 12-26 s for 12 MP on a laptop-class CPU; "ultrafast" is ~10x quicker at a
# somewhat larger file. "Smaller file" trades that time back.
HEIC_FAST = {"quality": 85, "preset": "ultrafast"}
HEIC_SMALL = {"quality": 75, "preset": "medium"}
JPEG_DEFAULT = {"quality": 92, "subsampling": 0}      # 4:4:4: restored detail keeps its colour edges
JPEG_SMALL = {"quality": 85, "subsampling": 2}
PNG_COMPRESSION = 1


@dataclass
class ExportOptions:
    format: str = "auto"            # "auto" (the key photo's format; PNG for 16-bit pixels) | jpeg | heic | png
    quality: int | None = None      # overrides the format's default
    smaller_file: bool = False      # slower encoder settings for a smaller file
    strip_location: bool = False    # drop GPS from EXIF and XMP
    suffix: str = files.SUFFIX      # free-name suffix: IMG_4394 -> IMG_4394_LM.HEIC
    overwrite: bool = False         # only when the user named the file; the source is never overwritten
    hdr: bool = True                # keep the HDR gain map when the picture has one (HEIC, Ultra HDR JPEG)
    # Code HEIC in a low-priority child process (core.export.encoder_process): the app does, so x265 leaves its
    # window a core; a command-line run or batch does not, the child's start costs ~0.4 s per 12 MP photo.
    encoder_process: bool = False


@dataclass
class StillMetadata:
    """What an export carries over from the key photo."""

    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    bit_depth: int = 8
    mime: str | None = None
    source_paths: list[Path] = field(default_factory=list)

    @classmethod
    def of(cls, source: Any) -> "StillMetadata":
        """From a LivePhoto, a Still, a StillMetadata or None."""
        if source is None:
            return cls()
        if isinstance(source, StillMetadata):
            return source
        still = getattr(source, "still", None)
        paths = [Path(p) for p in getattr(source, "source_paths", [])]
        if still is None:
            still = source
        return cls(exif=getattr(still, "exif", None), icc_profile=getattr(still, "icc_profile", None),
                   xmp=getattr(still, "xmp", None), bit_depth=int(getattr(still, "bit_depth", 8) or 8),
                   mime=getattr(still, "mime", None), source_paths=paths)


@dataclass
class ExportResult:
    path: Path
    format: str
    width: int
    height: int
    bit_depth: int
    bytes_written: int
    elapsed_s: float
    skipped: list[str] = field(default_factory=list)   # metadata fields that could not be carried over
    hdr: bool = False        # an HDR gain map was written with the picture


@dataclass
class Encoded:
    data: bytes
    format: str
    bit_depth: int
    skipped: list[str]
    xmp: bytes | None        # the packet as written (for in-place fixes after encoding)
    hdr: bool = False        # an HDR gain map was written with the picture


def _pixels(image: Any) -> np.ndarray:
    pixels = getattr(image, "pixels", image)
    if not isinstance(pixels, np.ndarray):
        pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ExportError(f"expected an H x W x 3 RGB image, got shape {pixels.shape}")
    pixels = pixels[:, :, :3]
    if pixels.dtype == np.uint8 or pixels.dtype == np.uint16:
        return np.ascontiguousarray(pixels)
    if np.issubdtype(pixels.dtype, np.floating):  # 0..1 floats: keep the precision in 16 bits
        return np.ascontiguousarray(np.clip(np.rint(pixels * 65535.0), 0, 65535).astype(np.uint16))
    raise ExportError(f"unsupported pixel type {pixels.dtype}")


def _to_8bit(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    return np.ascontiguousarray(((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8))


def resolve_format(requested: str, meta: StillMetadata, pixels: np.ndarray, target: Path | None = None) -> str:
    fmt = (requested or "auto").lower()
    fmt = {"jpg": "jpeg", "heif": "heic"}.get(fmt, fmt)
    if fmt == "auto" and target is not None and target.suffix.lower() in _EXT_TO_FORMAT:
        fmt = _EXT_TO_FORMAT[target.suffix.lower()]
    if fmt == "auto":
        if pixels.dtype == np.uint16:
            return "png"
        fmt = _MIME_TO_FORMAT.get((meta.mime or "").lower(), "")
        if not fmt and meta.source_paths:
            fmt = _EXT_TO_FORMAT.get(meta.source_paths[0].suffix.lower(), "")
        return fmt or "jpeg"
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {requested!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def write_back_format(requested: str, meta: StillMetadata, pixels: np.ndarray) -> str:
    """"jpeg" or "heic": what a written-back key photo is encoded as (a Live Photo / Motion Photo holds no PNG;
    ``requested`` other than those two, or a format ``auto`` resolves to PNG, falls back to the source's kind)."""
    fmt = resolve_format(requested if requested in ("jpeg", "heic") else "auto", meta, pixels)
    if fmt not in ("jpeg", "heic"):
        fmt = "heic" if (meta.mime or "").endswith(("heic", "heif")) else "jpeg"
    return fmt

def extension_for(fmt: str, meta: StillMetadata) -> str:
    """The source's own extension when the format matches it, else the usual one in the source's letter case."""
    src = meta.source_paths[0] if meta.source_paths else None
    if src is not None and _EXT_TO_FORMAT.get(src.suffix.lower()) == fmt:
        return src.suffix
    ext = EXTENSIONS[fmt]
    return ext.upper() if src is not None and src.suffix.isupper() else ext


# ------------------------------------------------------------------------------------------------ encoders


def _encode_jpeg(pixels: np.ndarray, exif: bytes | None, icc: bytes | None, xmp: bytes | None,
                 options: ExportOptions, skipped: list[str]) -> bytes:
    from PIL import Image

    params = dict(JPEG_SMALL if options.smaller_file else JPEG_DEFAULT)
    if options.quality is not None:
        params["quality"] = int(options.quality)
    if exif is not None and len(exif) > JPEG_APP1_MAX:
        skipped.append(f"EXIF ({len(exif)} bytes, more than one JPEG segment holds)")
        exif = None
    if xmp is not None and len(xmp) + 29 > JPEG_APP1_MAX:
        skipped.append(f"XMP ({len(xmp)} bytes, more than one JPEG segment holds)")
        xmp = None
    kwargs = {k: v for k, v in (("exif", exif), ("icc_profile", icc), ("xmp", xmp)) if v}
    out = io.BytesIO()
    Image.fromarray(_to_8bit(pixels), "RGB").save(out, "JPEG", **params, **kwargs)
    return out.getvalue()


def _encode_heic(pixels: np.ndarray, exif: bytes | None, icc: bytes | None, xmp: bytes | None,
                 options: ExportOptions, progress: Progress | None = None,
                 also: list[tuple[np.ndarray, int]] = ()) -> tuple[bytes, list[bytes]]:
    """The picture's HEIC and bare HEICs of the ``also`` images ((uint8 grey or RGB pixels, quality): a gain map),
    coded with the same preset, in one encoder process when the options ask for one (each start costs ~0.3 s)."""
    params = dict(HEIC_SMALL if options.smaller_file else HEIC_FAST)
    if options.quality is not None:
        params["quality"] = int(options.quality)
    enc_params = {"preset": params["preset"]}
    jobs = [(pixels, params["quality"], enc_params, exif, xmp, icc)]
    for image, quality in also:
        # A three-channel gain map holds a gain per colour, not a colour: 4:2:0 would average neighbouring gains
        # of different channels (libultrahdr codes such maps 4:4:4 too).
        own = {**enc_params, "chroma": "444"} if image.ndim == 3 else enc_params
        jobs.append((np.ascontiguousarray(image), quality, own, None, None, None))
    if options.encoder_process:
        picture, *others = run_encoder(heic_files, jobs, progress=progress, name="HEIC")
    else:
        picture, *others = heic_files(jobs)
    return picture, others


def heic_files(jobs: list[tuple]) -> list[bytes]:
    """:func:`heic_bytes` of each job's arguments (in the encoder process when there is one)."""
    return [heic_bytes(*job) for job in jobs]


def heic_bytes(pixels: np.ndarray, quality: int, enc_params: dict[str, str], exif: bytes | None,
               xmp: bytes | None, icc: bytes | None) -> bytes:
    """The HEIC file of ``pixels`` (RGB 8 bits, 16 bits stored as 10, or grey)."""
    import pillow_heif

    if pixels.ndim == 2:
        mode = "L"       # a gain map: coded monochrome (HEVC Range Extensions 4:0:0), as iPhones code theirs
    elif pixels.dtype == np.uint16:
        mode = "RGB;16"
    else:
        mode = "RGB"
    heif = pillow_heif.from_bytes(mode, (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    kwargs: dict[str, Any] = {"quality": quality, "enc_params": enc_params}
    if exif:
        kwargs["exif"] = exif
    if xmp:
        kwargs["xmp"] = xmp
    if icc:
        kwargs["icc_profile"] = icc
        kwargs["icc_profile_type"] = "prof"
    out = io.BytesIO()
    heif.save(out, **kwargs)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _encode_png(pixels: np.ndarray, exif: bytes | None, icc: bytes | None, xmp: bytes | None) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels[:, :, ::-1]),
                               [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ExportError("the PNG encoder failed")
    data = encoded.tobytes()
    ihdr_end = 8 + 8 + 13 + 4          # signature, IHDR length+type, IHDR body, CRC
    extra = b""
    if icc:     # iCCP must precede IDAT
        extra += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _png_chunk(b"eXIf", strip_exif_prefix(exif))
    if xmp:
        extra += _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)
    return data[:ihdr_end] + extra + data[ihdr_end:]


def encode(image: Any, source: Any = None, options: ExportOptions | None = None, *, fmt: str | None = None,
           exif_override: bytes | None = None, xmp_motion: xmp_edit.MotionFields | None = None,
           xmp_padding: int = xmp_edit.PACKET_PADDING, gain_map: GainMap | None = None,
           progress: Progress | None = None) -> Encoded:
    """The exported file's bytes, in memory (write-back patches and appends to them before writing).

    With a ``gain_map`` (and ``options.hdr``) the file also carries it (core/export/gainmap_write); a Motion Photo
    directory in ``xmp_motion`` then gets the gain-map image listed after the Primary. ``progress`` is only
    checked for cancellation while the encoder runs.
    """
    options = options or ExportOptions()
    meta = StillMetadata.of(source)
    pixels = _pixels(image)
    fmt = resolve_format(fmt or options.format, meta, pixels)
    height, width = pixels.shape[:2]
    skipped: list[str] = []
    if exif_override is not None:
        exif = exif_override
    else:
        rebuilt = exif_edit.rebuild(meta.exif, width, height, strip_location=options.strip_location)
        skipped += rebuilt.skipped
        exif = rebuilt.data
    hdr = None
    if gain_map is not None and options.hdr:
        from livemoments_app.core.export import gainmap_write
        hdr = gainmap_write.plan(gain_map, fmt)
        skipped += hdr.skipped
        exif = hdr.exif(exif)
    xmp, problems = xmp_edit.edit(meta.xmp, strip_location=options.strip_location, drop_motion=True,
                                  motion=xmp_motion, padding=xmp_padding, size=(width, height),
                                  **(hdr.xmp_fields(xmp_motion) if hdr is not None else {}))
    skipped += problems
    icc = meta.icc_profile or None
    coded_maps: list[bytes] = []            # a HEIC's gain-map images, coded with its picture
    try:
        if fmt == "jpeg":
            data = _encode_jpeg(pixels, exif, icc, xmp, options, skipped)
            bit_depth = 8
        elif fmt == "heic":
            maps = hdr.heic_images(options.smaller_file) if hdr is not None else []
            data, coded_maps = _encode_heic(pixels, exif, icc, xmp, options, progress, maps)
            bit_depth = 10 if pixels.dtype == np.uint16 else 8
        else:
            data = _encode_png(pixels, exif, icc, xmp)
            bit_depth = 16 if pixels.dtype == np.uint16 else 8
        if hdr is not None and hdr.writes:
            data = hdr.finish(data, coded_maps)
    except (ExportError, Cancelled):
        raise
    except Exception as exc:  # noqa: BLE001 - an encoder failure is an export failure, with its reason
        raise ExportError(f"the {fmt.upper()} encoder failed: {exc}") from exc
    return Encoded(data, fmt, bit_depth, skipped, xmp, hdr is not None and hdr.writes)


def export_still(image: Any, live_photo_or_metadata: Any, target: str | Path,
                 options: ExportOptions | None = None, progress: Progress | None = None, *,
                 gain_map: GainMap | None = None) -> ExportResult:
    """Writes ``image`` (RGB array or RestoredImage) with the key photo's metadata to ``target`` (file or folder),
    with ``gain_map`` where the format holds one."""
    options = options or ExportOptions()
    progress = progress or no_progress()
    started = time.perf_counter()
    meta = StillMetadata.of(live_photo_or_metadata)
    pixels = _pixels(image)
    named = Path(target)
    # "out/" or a name without an extension that does not exist yet means a folder, as a user typing it expects.
    to_folder = named.is_dir() or (not named.exists() and (str(target).endswith(("/", os.sep)) or not named.suffix))
    if to_folder:
        try:
            named.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create the folder ({exc.strerror or exc})", named) from None
    fmt = resolve_format(options.format, meta, pixels, None if to_folder else named)
    ext = extension_for(fmt, meta)
    if not to_folder:
        named_fmt = _EXT_TO_FORMAT.get(named.suffix.lower())
        if named_fmt is not None and named_fmt != fmt:
            raise ExportError(f"the name ends in {named.suffix} but the format asked for is {fmt.upper()}", named)
        files.ensure_not_source(named, meta.source_paths)
        if named.exists() and not options.overwrite:
            raise ExportError("a file of that name already exists (allow overwriting, or pick another name)", named)
    progress.set(0.05, f"Encoding {fmt.upper()}")
    encoded = encode(pixels, meta, options, fmt=fmt, gain_map=gain_map, progress=progress)
    progress.set(0.9, "Writing")
    if to_folder:
        # The name is picked after encoding, so parallel exports of same-named photos cannot collide.
        stem = meta.source_paths[0].stem if meta.source_paths else "LiveMoments"
        [path] = files.write_free(named, stem, [(ext, encoded.data)], options.suffix, meta.source_paths)
    else:
        path = files.write_bytes_atomic(named, encoded.data, overwrite=options.overwrite)
    progress.set(1.0, "Exported")
    return ExportResult(path, fmt, pixels.shape[1], pixels.shape[0], encoded.bit_depth, len(encoded.data),
                        time.perf_counter() - started, encoded.skipped, encoded.hdr)
