"""What opening a Live Photo gives: the key photo, the clip, and the key photo's moment in the clip."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

__all__ = ["ByteRange", "KeyTimeSource", "LiveFormat", "LivePhoto", "Still"]

import numpy as np

from livemoments_app.core.byte_range import ByteRange

if TYPE_CHECKING:
    from livemoments_app.core.clip import FrameSource
    from livemoments_app.core.hdr.model import GainMap
    from livemoments_app.core.livephoto.gain_map import GainMapRef


class LiveFormat(str, enum.Enum):
    APPLE_LIVE_PHOTO = "apple_live_photo"          # still (HEIC/JPEG) + MOV, two files
    GOOGLE_MOTION_PHOTO = "google_motion_photo"    # Camera:MotionPhoto v1.0, Container directory
    GOOGLE_MICRO_VIDEO = "google_micro_video"      # GCamera:MicroVideo v1 (deprecated)
    SAMSUNG_MOTION_PHOTO = "samsung_motion_photo"  # JPEG SEF trailer or HEIC mpvd/sefd
    STILL_AND_VIDEO = "still_and_video"            # any still + any video given explicitly


class KeyTimeSource(str, enum.Enum):
    APPLE_STILL_IMAGE_TIME = "apple_still_image_time"      # mebx track edit list
    XMP_PRESENTATION_TIMESTAMP = "xmp_presentation_timestamp"
    SPEC_FALLBACK_MIDPOINT = "spec_fallback_midpoint"      # Google spec: frame just before duration/2
    IMAGE_SIMILARITY = "image_similarity"                  # estimated by matching the still to frames


@dataclass
class Still:
    """The key photo: full resolution, upright, RGB (uint8, or uint16 for high bit depth), with metadata bytes."""

    pixels: np.ndarray                 # H x W x 3, upright
    icc_profile: bytes | None = None
    exif: bytes | None = None          # raw EXIF (TIFF header onwards, no "Exif\0\0" prefix)
    xmp: bytes | None = None           # raw XMP packet of the still
    bit_depth: int = 8
    mime: str = "image/jpeg"
    hdr: "GainMapRef | None" = None    # the HDR gain map the file carries (what it says; pixels on first use)

    @property
    def gain_map(self) -> "GainMap | None":
        """The key photo's gain map, upright like ``pixels`` (decoded on first use: DecodeError if it cannot be);
        None for an SDR photo."""
        return None if self.hdr is None else self.hdr.load()

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass
class LivePhoto:
    format: LiveFormat
    still: Still
    clip: "FrameSource"
    key_time_s: float
    key_time_source: KeyTimeSource
    still_path: Path
    video_path: Path | None = None                 # the MOV of an Apple pair / the explicit video, else None
    video_range: ByteRange | None = None           # the embedded clip inside still_path, else None
    content_identifier: str | None = None
    details: dict = field(default_factory=dict)    # format-specific facts (XMP fields, SEF entries...)

    @property
    def key_time_estimated(self) -> bool:
        return self.key_time_source == KeyTimeSource.IMAGE_SIMILARITY

    @property
    def key_frame_index(self) -> int:
        return self.clip.nearest_index(self.key_time_s)

    @property
    def source_paths(self) -> list[Path]:
        return [p for p in (self.still_path, self.video_path) if p is not None]

    def close(self) -> None:
        self.clip.close()

    def __enter__(self) -> "LivePhoto":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
