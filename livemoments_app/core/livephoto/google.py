"""Google Motion Photo XMP: where the video is (Container directory v1.0, MicroVideo v1) and the key time."""

from __future__ import annotations

from dataclasses import dataclass

from livemoments_app.core.livephoto.xmp import NS_CAMERA, XmpData

VIDEO_MIMES = ("video/mp4", "video/quicktime")


@dataclass(frozen=True)
class Candidate:
    """A place the embedded clip may start; every candidate is checked for an 'ftyp' box before use."""

    source: str        # "mpvd", "sef", "xmp_directory", "xmp_micro_video"
    offset: int
    length: int


def is_motion_photo(xmp: XmpData) -> bool:
    return xmp.get_int(NS_CAMERA, "MotionPhoto") == 1 or any(
        (item.get("Semantic") or "").strip() == "MotionPhoto" for item in xmp.directory)


def is_micro_video(xmp: XmpData) -> bool:
    return xmp.get_int(NS_CAMERA, "MicroVideo") == 1


def _int(value: str | None) -> int:
    try:
        return int(str(value).strip()) if value not in (None, "") else 0
    except ValueError:
        return 0


def directory_candidate(xmp: XmpData, file_size: int) -> Candidate | None:
    """Media3's walk: items are laid out back to back and end at EOF; each secondary item starts at the
    previous start minus its Length; Padding applies only to the primary."""
    items = xmp.directory
    if not items:
        return None
    item_start = file_size
    found: Candidate | None = None
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        item_end = item_start
        if i == 0:
            item_start = 0
            item_end -= _int(item.get("Padding"))
        else:
            item_start -= _int(item.get("Length"))
        mime = (item.get("Mime") or "").strip().lower()
        if mime in VIDEO_MIMES and item_end > item_start and found is None:
            found = Candidate("xmp_directory", item_start, item_end - item_start)
    return found


def micro_video_candidate(xmp: XmpData, file_size: int) -> Candidate | None:
    """v1 MicroVideo: MicroVideoOffset counts bytes from the end of the file to the start of the video."""
    if not is_micro_video(xmp):
        return None
    offset = xmp.get_int(NS_CAMERA, "MicroVideoOffset")
    if offset is None or offset <= 0:
        return None
    return Candidate("xmp_micro_video", file_size - offset, offset)


def presentation_timestamp_us(xmp: XmpData) -> int | None:
    """The key photo's time in µs, or None when absent or -1 (the spec's "unknown").

    v1.0 readers must ignore the v1 MicroVideo fields, so those count only when the v1.0 tags are absent.
    """
    if is_motion_photo(xmp):
        value = xmp.get_int(NS_CAMERA, "MotionPhotoPresentationTimestampUs")
    else:
        value = xmp.get_int(NS_CAMERA, "MicroVideoPresentationTimestampUs")
    return value if value is not None and value >= 0 else None
