"""Carry the key photo's EXIF over to an exported image: upright, new size, our Software tag, optional no GPS.

The EXIF is rebuilt tag by tag with Pillow so that one tag Pillow cannot write is dropped and reported instead of
failing the export. The MakerNote travels as opaque bytes (Apple's uses offsets relative to itself, so moving it
is safe), which keeps the ContentIdentifier patchable afterwards with :func:`replace_once`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from PIL import ExifTags, Image

from livemoments_app import __version__

SOFTWARE = f"LiveMoments {__version__}"

TAG_IMAGE_WIDTH = 0x0100
TAG_IMAGE_LENGTH = 0x0101
TAG_ORIENTATION = 0x0112
TAG_SOFTWARE = 0x0131
TAG_EXIF_IFD = int(ExifTags.IFD.Exif)
TAG_GPS_IFD = int(ExifTags.IFD.GPSInfo)
TAG_INTEROP_IFD = int(ExifTags.IFD.Interop)
TAG_PIXEL_X = 0xA002
TAG_PIXEL_Y = 0xA003
# IFD0 tags that describe the old pixel layout or point at data that is not carried (strips, tiles, thumbnails).
_LAYOUT_TAGS = {0x0102, 0x0103, 0x0106, 0x0111, 0x0115, 0x0116, 0x0117, 0x011C, 0x0142, 0x0143, 0x0144, 0x0145,
                0x0201, 0x0202, 0x0212, 0x014A}


@dataclass
class ExifResult:
    data: bytes | None                      # "Exif\0\0" + TIFF, or None when there was nothing to carry
    skipped: list[str] = field(default_factory=list)   # fields that could not be copied, in words


def _name(ifd: int, tag: int) -> str:
    table = ExifTags.GPSTAGS if ifd == TAG_GPS_IFD else ExifTags.TAGS
    return table.get(tag, f"0x{tag:04X}")


def load(exif: bytes) -> Image.Exif:
    parsed = Image.Exif()
    parsed.load(exif if exif.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + exif)
    return parsed


def _serializable(ifd: int, tag: int, value, endian_probe: Image.Exif) -> bool:
    """Whether Pillow can write this one tag (tried alone so one bad tag cannot sink the rest)."""
    probe = Image.Exif()
    probe.endian = endian_probe.endian
    try:
        if ifd == 0:
            probe[tag] = value
        else:
            probe[ifd] = {tag: value}
        probe.tobytes()
        return True
    except Exception:  # noqa: BLE001 - any failure of Pillow's writer means "cannot copy this field"
        return False


def rebuild(exif: bytes | None, width: int, height: int, *, strip_location: bool = False,
            software: str = SOFTWARE) -> ExifResult:
    """EXIF for an upright ``width`` x ``height`` image made from the key photo whose EXIF is ``exif``."""
    result = ExifResult(None)
    source = None
    if exif:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                source = load(exif)
                len(source)       # Pillow parses lazily; make it report problems here
            for w in caught:
                result.skipped.append(f"EXIF (partly unreadable: {w.message})")
            if len(source) == 0:
                if not caught:
                    result.skipped.append("EXIF (no readable fields)")
                source = None
        except Exception as exc:  # noqa: BLE001 - unreadable EXIF: export without it, and say so
            result.skipped.append(f"EXIF (unreadable: {exc})")
    out = Image.Exif()
    if source is not None:
        out.endian = source.endian
        ifds: dict[int, dict] = {0: {k: v for k, v in source.items() if k not in (TAG_EXIF_IFD, TAG_GPS_IFD)}}
        for ifd in (TAG_EXIF_IFD, TAG_GPS_IFD):
            try:
                sub = dict(source.get_ifd(ifd))
            except Exception as exc:  # noqa: BLE001
                result.skipped.append(f"{_name(0, ifd)} (unreadable: {exc})")
                continue
            if sub:
                ifds[ifd] = sub
        if TAG_EXIF_IFD in ifds and TAG_INTEROP_IFD in ifds[TAG_EXIF_IFD]:
            try:
                interop = dict(source.get_ifd(TAG_INTEROP_IFD))
            except Exception:  # noqa: BLE001
                interop = {}
            if interop:
                ifds[TAG_EXIF_IFD][TAG_INTEROP_IFD] = interop
            else:
                del ifds[TAG_EXIF_IFD][TAG_INTEROP_IFD]
        for tag in _LAYOUT_TAGS:
            ifds[0].pop(tag, None)
        if strip_location:
            ifds.pop(TAG_GPS_IFD, None)
        for ifd, tags in ifds.items():
            kept = {}
            for tag, value in tags.items():
                if tag == TAG_INTEROP_IFD and isinstance(value, dict):
                    kept[tag] = value
                elif _serializable(ifd, tag, value, out):
                    kept[tag] = value
                else:
                    result.skipped.append(f"EXIF {_name(ifd, tag)}")
            if ifd == 0:
                for tag, value in kept.items():
                    out[tag] = value
            elif kept:
                out[ifd] = kept
    # Pixels are written upright, so the orientation is always "as stored".
    out[TAG_ORIENTATION] = 1
    out[TAG_SOFTWARE] = software
    if TAG_IMAGE_WIDTH in out or TAG_IMAGE_LENGTH in out:
        out[TAG_IMAGE_WIDTH], out[TAG_IMAGE_LENGTH] = width, height
    exif_ifd = out.get(TAG_EXIF_IFD)
    if not isinstance(exif_ifd, dict):
        exif_ifd = {}
    exif_ifd[TAG_PIXEL_X], exif_ifd[TAG_PIXEL_Y] = width, height
    out[TAG_EXIF_IFD] = exif_ifd
    try:
        result.data = out.tobytes()
    except Exception as exc:  # noqa: BLE001 - the combination failed although each tag passed alone
        result.skipped.append(f"EXIF (could not be written: {exc})")
        result.data = None
    return result


def replace_once(data: bytes, old: bytes, new: bytes) -> bytes | None:
    """``data`` with the single occurrence of ``old`` replaced by equally long ``new``; None when not exactly one."""
    if len(old) != len(new) or not old or data.count(old) != 1:
        return None
    return data.replace(old, new)
