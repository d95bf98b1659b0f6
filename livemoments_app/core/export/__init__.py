"""Export: the restored still with its metadata, and write-back as a Live Photo / Motion Photo.

* ``export_still(image, live_photo_or_metadata, path_or_folder, options, gain_map=None) -> ExportResult``
* ``write_back(live_photo, restored, frame_index, folder, options, gain_map=None) -> list[Path]``
  (``write_back_result`` gives the fields that could not be carried and the new identifiers too)

With a ``gain_map`` (core.hdr.GainMap) a HEIC carries it as iPhones do and a JPEG becomes Ultra HDR; a PNG cannot
hold one and the export says so.

Nothing here overwrites a source file; every file is written through a temporary file and a rename.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from livemoments_app.core.errors import ExportError
from livemoments_app.core.export.still import (FORMATS, ExportOptions, ExportResult, StillMetadata, encode,
                                               export_still)
from livemoments_app.core.export.writeback_apple import WriteBack
from livemoments_app.core.hdr.model import GainMap
from livemoments_app.core.jobs import Progress

__all__ = ["FORMATS", "ExportError", "ExportOptions", "ExportResult", "StillMetadata", "WriteBack", "encode",
           "export_still", "prepare_export", "write_back", "write_back_kind", "write_back_result"]


def prepare_export() -> None:
    """Loads what an export needs before the user asks for one (the app calls it on a worker thread once a
    restored picture is shown). Done by the first export itself, importing its writers and starting
    multiprocessing's resource tracker stalled the window's event loop for 40-80 ms while x265 started
    (benchmarks/ui_latency.py: export-phase worst tick 42-77 ms cold, 11-26 ms prepared, 5 runs each)."""
    import multiprocessing.connection  # noqa: F401
    import PIL.ImageOps  # noqa: F401  (Pillow loads these on the first EXIF edit and the first save)
    import PIL.TiffImagePlugin  # noqa: F401
    from PIL import Image

    Image.preinit()
    from livemoments_app.core.export import (apple_hdr, encoder_process, gainmap_write, heic_gainmap,  # noqa: F401
                                             ultrahdr, writeback_motion)

    encoder_process.prepare()


def write_back_kind(live_photo: Any) -> str | None:
    """"apple", "motion" or None (this photo cannot be written back; export the still instead)."""
    from livemoments_app.core.livephoto.model import LiveFormat

    fmt = getattr(live_photo, "format", None)
    if fmt == LiveFormat.APPLE_LIVE_PHOTO:
        return "apple"
    if fmt in (LiveFormat.GOOGLE_MOTION_PHOTO, LiveFormat.GOOGLE_MICRO_VIDEO, LiveFormat.SAMSUNG_MOTION_PHOTO):
        return "motion" if getattr(live_photo, "video_range", None) is not None else None
    if fmt == LiveFormat.STILL_AND_VIDEO and getattr(live_photo, "content_identifier", None):
        return "apple"
    return None


def write_back_result(live_photo: Any, restored: Any, frame_index: int, folder: str | Path,
                      options: ExportOptions | None = None, progress: Progress | None = None, *,
                      gain_map: GainMap | None = None) -> WriteBack:
    kind = write_back_kind(live_photo)
    if kind == "apple":
        from livemoments_app.core.export.writeback_apple import write_back_apple
        return write_back_apple(live_photo, restored, frame_index, folder, options, progress, gain_map=gain_map)
    if kind == "motion":
        from livemoments_app.core.export.writeback_motion import write_back_motion
        return write_back_motion(live_photo, restored, frame_index, folder, options, progress, gain_map=gain_map)
    raise ExportError("only Apple Live Photos and Google/Samsung Motion Photos can be written back; "
                      "export the still instead", getattr(live_photo, "still_path", None))


def write_back(live_photo: Any, restored: Any, frame_index: int, folder: str | Path,
               options: ExportOptions | None = None, progress: Progress | None = None, *,
               gain_map: GainMap | None = None) -> list[Path]:
    """Writes a new Live Photo / Motion Photo whose key photo is ``restored`` at clip frame ``frame_index``."""
    return write_back_result(live_photo, restored, frame_index, folder, options, progress, gain_map=gain_map).paths
