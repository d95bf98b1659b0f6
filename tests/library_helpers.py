"""Folders of Live Photos for the library tests: nested Apple pairs, Motion Photos, a plain still, a lone video,
broken files, and a quick way to make a folder of a thousand."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np

from tests.support.synth import pattern_frames, write_apple_pair, write_motion_photo_jpeg, write_still


def taken_exif(when: str) -> bytes:
    """EXIF (TIFF bytes, no prefix) with DateTimeOriginal ``when`` ('2024:05:01 10:20:30') and a +02:00 offset."""
    from PIL import Image
    from PIL.ExifTags import IFD

    exif = Image.Exif()
    exif[0x010F] = "LiveMoments test"
    exif.get_ifd(IFD.Exif)[0x9003] = when
    exif.get_ifd(IFD.Exif)[0x9011] = "+02:00"
    data = exif.tobytes()
    return data[6:] if data.startswith(b"Exif\0\0") else data


def portrait_frames(count: int = 8) -> list[np.ndarray]:
    """Frames 144 wide, 192 high: a thumbnail must come out portrait."""
    return [np.ascontiguousarray(np.rot90(f)) for f in pattern_frames(count, (192, 144))]


def make_library(root: Path) -> dict[str, Path]:
    """A folder with every kind of file a scan meets; returns the interesting paths by name."""
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    out["top_heic"], out["top_mov"] = write_apple_pair(root, stem="IMG_0001", frames=portrait_frames())
    nested = root / "2024" / "May"
    out["nested_jpeg"], out["nested_mov"] = write_apple_pair(nested, stem="IMG_0002", still_format="jpeg")
    out["deep_heic"], _ = write_apple_pair(root / "2024" / "May" / "day two", stem="IMG_0003")
    out["motion"] = write_motion_photo_jpeg(root / "2024" / "PXL_0001.MP.jpg")
    dated = root / "2024" / "IMG_0004.JPG"
    write_still(dated, pattern_frames(1, (320, 240))[0], exif=taken_exif("2024:05:01 10:20:30"))
    out["plain"] = dated                                  # a still without a clip
    out["lone_mov"] = root / "clip_only.MOV"
    shutil.copy(out["top_mov"], out["lone_mov"])          # a video without a photo
    # Broken: a HEIC cut short beside a good MOV, and a pair whose content identifiers disagree.
    cut, cut_mov = write_apple_pair(root / "broken", stem="IMG_0005")
    cut.write_bytes(cut.read_bytes()[:400])
    out["cut"] = cut
    out["mismatch"], _ = write_apple_pair(root / "broken", stem="IMG_0006", content_identifier="A" * 8,
                                          video_content_identifier="B" * 8)
    # Hidden files and folders are not photos (macOS AppleDouble companions, .thumbnails).
    (root / "._IMG_0001.HEIC").write_bytes(b"\0\5\26\7" + b"\0" * 60)
    hidden = root / ".thumbnails"
    write_apple_pair(hidden, stem="IMG_0009")
    return out


def make_thousand(root: Path, count: int = 1000) -> Path:
    """``count`` Apple pairs (copies of one small pair) in folders of 250."""
    template = root / "_template"
    still, mov = write_apple_pair(template, stem="IMG_0000", frames=pattern_frames(6))
    still_bytes, mov_bytes = still.read_bytes(), mov.read_bytes()
    for k in range(count):
        folder = root / f"batch{k // 250:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"IMG_{k:04d}.HEIC").write_bytes(still_bytes)
        (folder / f"IMG_{k:04d}.MOV").write_bytes(mov_bytes)
    shutil.rmtree(template)
    return root


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time (to prove nothing was written there)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def image_size(jpeg: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as image:
        image.load()
        return image.size
