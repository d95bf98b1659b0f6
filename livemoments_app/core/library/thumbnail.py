"""A small upright picture of a still and the date it was taken, read as cheaply as the file allows (one open).

A Live Photo's still is a 12 MP HEIC or JPEG; decoding it fully takes 0.3-0.5 s. Cameras store a small copy
beside it, and this module uses it where it is big enough for a tile:
* HEIC/HEIF: the thumbnail item (iPhones: 416 x 312; Samsung: 512 x 384), picked by pillow-heif's ``draft`` when it
  is a scaled copy of the primary image (same orientation transforms and colour profile);
* JPEG: the EXIF thumbnail (IFD1) when its short side is at least ``MIN_EMBEDDED``; otherwise libjpeg decodes
  at 1/2, 1/4 or 1/8 scale (``draft``), ~20 ms for 12 MP instead of ~150 ms;
* anything else (a HEIC without a thumbnail): the full decode, reduced.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from livemoments_app.core.errors import DecodeError, one_line

THUMB_SIDE = 384         # long side stored: a 280 px tile crops a square from the short side (288 px at 4:3)
MIN_EMBEDDED = 240       # an embedded thumbnail with a shorter short side would look soft in a tile
JPEG_QUALITY = 85

_DATE_TIME, _DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x0132, 0x9003, 0x9011
_ORIENTATION = 0x0112
_THUMB_OFFSET, _THUMB_LENGTH = 0x0201, 0x0202


@dataclass(frozen=True)
class Thumbnail:
    jpeg: bytes
    width: int
    height: int
    source: str          # 'embedded', 'reduced' (scaled decode) or 'full'
    taken: str | None    # EXIF DateTimeOriginal as ISO 8601 (see exif_date)


def _open(path: Path):
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()      # idempotent; lets Pillow open HEIC/HEIF/AVIF
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # Pillow warns about huge images and odd EXIF; errors still raise
        return Image.open(os.fspath(path))


def read_thumbnail(path: Path, max_side: int = THUMB_SIDE) -> Thumbnail:
    """The upright thumbnail of the still at ``path`` as JPEG bytes, and its date; DecodeError naming the file
    when no thumbnail can be made."""
    from PIL import ImageOps

    try:
        with _open(path) as image:
            taken = exif_date(image.getexif())
            small, source = _exif_thumbnail(image), "embedded"
            if small is None:
                full_size = image.size
                image.draft("RGB", (MIN_EMBEDDED, MIN_EMBEDDED))
                source = "full" if image.size == full_size else ("embedded" if image.format != "JPEG" else "reduced")
                image.load()
                small = ImageOps.exif_transpose(image)
            small = small.convert("RGB")
            small.thumbnail((max_side, max_side))
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=JPEG_QUALITY)
            return Thumbnail(buffer.getvalue(), small.width, small.height, source, taken)
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow and libheif fail in many ways on damaged files
        raise DecodeError(one_line(f"no thumbnail: the still cannot be decoded ({type(exc).__name__}: {exc})"),
                          path) from None


def _exif_thumbnail(image):
    """The JPEG's EXIF thumbnail, upright, when it is large enough; else None."""
    from PIL import Image, ImageOps
    from PIL.ExifTags import IFD

    if image.format != "JPEG":
        return None
    raw = image.info.get("exif") or b""
    tiff = raw[6:] if raw.startswith(b"Exif\0\0") else raw
    exif = image.getexif()
    ifd1 = exif.get_ifd(IFD.IFD1)
    offset, length = ifd1.get(_THUMB_OFFSET), ifd1.get(_THUMB_LENGTH)
    if not isinstance(offset, int) or not isinstance(length, int) or length <= 0 or offset + length > len(tiff):
        return None
    try:
        thumb = Image.open(io.BytesIO(tiff[offset:offset + length]))
        if min(thumb.size) < MIN_EMBEDDED:
            return None
        thumb.load()
    except Exception:  # noqa: BLE001 - a broken embedded thumbnail only means decoding the image instead
        return None
    # The EXIF thumbnail is stored like the main image: the main image's orientation applies to it.
    thumb.getexif()[_ORIENTATION] = exif.get(_ORIENTATION, 1)
    return ImageOps.exif_transpose(thumb)


def exif_date(exif) -> str | None:
    """DateTimeOriginal (else DateTime) of a Pillow Exif as ISO 8601, with OffsetTimeOriginal when present."""
    from PIL.ExifTags import IFD

    sub = exif.get_ifd(IFD.Exif)
    text = sub.get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME)
    if not isinstance(text, str) or len(text) < 19:
        return None
    date, _, clock = text.strip().partition(" ")
    parts = date.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or parts[0] == "0000":
        return None
    iso = f"{parts[0]}-{parts[1]}-{parts[2]}T{clock[:8]}"
    offset = sub.get(_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str) and len(offset.strip()) == 6 and offset.strip()[0] in "+-":
        iso += offset.strip()
    return iso
