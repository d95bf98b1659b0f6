"""Decode the key photo: full resolution, upright, RGB, with its ICC profile and raw EXIF/XMP bytes."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np

from livemoments_app.core.errors import CorruptFileError, DecodeError, one_line, unreadable
from livemoments_app.core.livephoto.model import Still
from livemoments_app.core.livephoto.tiff import strip_exif_prefix

# A 200 MP still is far beyond any phone; larger claims are hostile or broken headers.
MAX_PIXELS = 200_000_000
MAX_SIDE = 40_000


def check_dimensions(width: int, height: int, path) -> None:
    if width <= 0 or height <= 0:
        raise CorruptFileError(f"the image declares an impossible size {width}×{height}", path)
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise CorruptFileError(f"the image declares absurd dimensions {width}×{height}", path)


def icc_description(icc: bytes | None) -> str:
    if not icc:
        return ""
    try:
        from PIL import ImageCms

        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except Exception:   # a broken profile only means "not Display P3"
        return ""


def colour_target_for(icc: bytes | None) -> str:
    """The FrameSource colour target matching the still: Display P3 when its profile says so, else sRGB."""
    return "display-p3" if "display p3" in icc_description(icc).lower() else "srgb"


def decode_heif(path: Path, *, exif: bytes | None = None, xmp: bytes | None = None, hdr=None) -> Still:
    import pillow_heif

    # libheif reports damage in many ways (ValueError, RuntimeError, an empty image list...): any failure of
    # the third-party decoder means "this still cannot be decoded".
    try:
        heif = pillow_heif.open_heif(os.fspath(path), convert_hdr_to_8bit=False)
        width, height = heif.size
    except Exception as exc:  # noqa: BLE001
        raise DecodeError(one_line(f"the HEIF still cannot be read ({type(exc).__name__}: {exc})"), path) from None
    check_dimensions(width, height, path)
    bit_depth = int(heif.info.get("bit_depth", 8) or 8)
    try:
        arr = np.asarray(heif)
        if bit_depth > 8 and arr.dtype != np.uint16:   # high bit depth is carried as 16-bit samples
            arr = arr.astype(np.uint16)
    except Exception as exc:  # noqa: BLE001 - see above
        raise DecodeError(one_line(f"the HEIF still cannot be decoded ({type(exc).__name__}: {exc})"),
                          path) from None
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise DecodeError(f"the HEIF still decodes to an unexpected shape {arr.shape}", path)
    pixels = np.ascontiguousarray(arr[:, :, :3])
    icc = heif.info.get("icc_profile") or None
    return Still(pixels=pixels, icc_profile=bytes(icc) if icc else None, exif=exif, xmp=xmp,
                 bit_depth=bit_depth if pixels.dtype == np.uint16 else 8, mime="image/heic", hdr=hdr)


def decode_pillow(path: Path, *, exif: bytes | None = None, xmp: bytes | None = None, hdr=None) -> Still:
    """JPEG and any other still Pillow reads (PNG, TIFF, WebP...), made upright with exif_transpose."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(os.fspath(path))
    except (FileNotFoundError, PermissionError) as exc:
        raise unreadable(exc, path) from None
    except Image.DecompressionBombError:
        raise CorruptFileError("the image declares absurd dimensions (a decompression bomb?)", path) from None
    except Exception as exc:  # noqa: BLE001
        raise DecodeError(one_line(f"the still cannot be read as an image ({exc})"), path) from None
    with image:
        check_dimensions(image.width, image.height, path)
        mime = Image.MIME.get(image.format or "", "image/jpeg")
        icc = image.info.get("icc_profile") or None
        if xmp is None:
            xmp = image.info.get("xmp") or None
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
            pixels = np.asarray(rgb).copy()
        except Image.DecompressionBombError:
            raise CorruptFileError("the image declares absurd dimensions (a decompression bomb?)", path) from None
        except Exception as exc:  # noqa: BLE001 - Pillow and exif_transpose fail in many ways on damaged data
            raise DecodeError(one_line(f"the still cannot be decoded ({exc}); the file may be truncated"),
                              path) from None
        if exif is None:
            raw = image.info.get("exif")
            if raw:
                exif = strip_exif_prefix(raw)
    # Pillow's RGB conversion is 8-bit; 16-bit PNG/TIFF stills are reduced to 8 bits here.
    return Still(pixels=pixels, icc_profile=bytes(icc) if icc else None, exif=exif, xmp=xmp, bit_depth=8,
                 mime=mime, hdr=hdr)


def probe_size(path: Path, kind: str) -> tuple[int, int] | None:
    """Upright (width, height) of a still from its header alone, or None when even that cannot be read."""
    try:
        if kind == "heif":
            import pillow_heif

            return tuple(pillow_heif.open_heif(os.fspath(path)).size)  # type: ignore[return-value]
        from PIL import Image

        with Image.open(os.fspath(path)) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
        return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    except Exception:   # a header we cannot read: the caller reports the still as undecodable
        return None
