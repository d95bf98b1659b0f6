"""Exporting the restored still through the export core, in the background; remembers where it wrote."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from livemoments_app.ui.workers import Job, Lanes

FORMATS = (("jpeg", "JPEG"), ("heic", "HEIC"), ("png", "PNG"))
DEFAULT_QUALITY = {"jpeg": 92, "heic": 85, "png": 100}


@dataclass(frozen=True)
class ExportChoice:
    folder: str
    filename: str = ""              # empty: a free name like IMG_4394_LM.HEIC next to nothing it could clobber
    format: str = "jpeg"
    quality: int = 92
    keep_metadata: bool = True
    strip_location: bool = False
    write_back: bool = False        # also a new Live Photo / Motion Photo whose key photo is this frame
    hdr: bool = True                # keep the restored photo's HDR gain map (HEIC, Ultra HDR JPEG)


def hdr_note(fmt: str, keep: bool) -> str:
    """What the export dialog says under "Keep HDR" for format ``fmt``."""
    if fmt == "png":
        return "PNG cannot hold an HDR gain map: this file will be SDR only. Choose HEIC or JPEG to keep HDR."
    if not keep:
        return "Saved as SDR only: HDR screens will show it like any other photo, without the brighter highlights."
    if fmt == "jpeg":
        return "Saved as an Ultra HDR JPEG (the gain map rides along; apps that ignore it show the SDR picture)."
    return "Saved as the iPhone saves its HDR photos (a gain map beside the picture)."


def default_folder(still_path: str, fallback: str) -> str:
    """Where the export dialog starts: next to the photo, unless that folder is not writable or is the app's own
    (the bundled demo), where ``fallback`` (the last folder used) is offered instead."""
    from livemoments_app.resources import is_bundled

    folder = os.path.dirname(os.fspath(still_path))
    if is_bundled(still_path) or not os.access(folder, os.W_OK):
        return fallback
    return folder


@dataclass
class ExportOutcome:
    paths: list[Path]               # the still first, then the written-back Live Photo's files
    skipped: list[str]              # metadata fields that could not be carried over
    hdr: bool = False               # the still carries its HDR gain map


def _prepare(_progress) -> None:
    from livemoments_app.core.export import prepare_export     # imported here: on the worker, not the UI thread

    prepare_export()


def _export(image, live, frame_index: int, choice: ExportChoice, progress) -> ExportOutcome:
    from livemoments_app.core.export import ExportOptions, StillMetadata
    from livemoments_app.core.pipeline import write_result

    meta = StillMetadata.of(live)
    if not choice.keep_metadata:
        # The ICC profile stays: it says what colours the pixels are, it is not personal metadata.
        meta = StillMetadata(icc_profile=meta.icc_profile, bit_depth=meta.bit_depth, mime=meta.mime,
                             source_paths=meta.source_paths)
    quality = None if choice.format == "png" else int(choice.quality)
    options = ExportOptions(format=choice.format, quality=quality, strip_location=choice.strip_location,
                            hdr=choice.hdr, encoder_process=True)
    target = Path(choice.folder) / choice.filename if choice.filename else Path(choice.folder)
    written = write_result(image, live, target, options, metadata=meta, frame_index=frame_index,
                           write_back=choice.write_back, progress=progress)
    return ExportOutcome(written.paths, written.skipped, written.hdr)


def can_write_back(live) -> bool:
    from livemoments_app.core.export import write_back_kind

    return write_back_kind(live) is not None


class ExportModel(QObject):
    stateChanged = Signal()
    exported = Signal(object)          # ExportOutcome

    def __init__(self, lanes: Lanes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes
        self.job: Job | None = None
        self.last_path: str | None = None
        self.status = ""
        self.prepared = False

    def prepare(self) -> None:
        """Loads the export's code and helper process on a worker, once, while the user looks at a result (see
        core.export.prepare_export: the first export otherwise stalls the window doing it)."""
        if self.prepared:
            return
        self.prepared = True
        self.lanes.work.run(_prepare, name="Preparing export", report=False)

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    def start(self, image, live, frame_index: int, choice: ExportChoice) -> Job:
        job = self.lanes.work.run(lambda p: _export(image, live, frame_index, choice, p), name="Exporting")
        self.job = job
        self.status = "Exporting…"
        job.progressed.connect(lambda _f, text: self._set_status(text or "Exporting…"))
        job.succeeded.connect(self._on_done)
        job.failed.connect(lambda _exc: self._set_status("Export failed."))
        job.cancelled.connect(lambda: self._set_status("Export cancelled."))
        self.stateChanged.emit()
        return job

    def _on_done(self, outcome: ExportOutcome) -> None:
        self.last_path = os.fspath(outcome.paths[0])
        names = ", ".join(p.name for p in outcome.paths) + (" (HDR)" if outcome.hdr else "")
        skipped = f" (not carried over: {', '.join(outcome.skipped)})" if outcome.skipped else ""
        self._set_status(f"Saved {names} in {os.path.dirname(self.last_path)}{skipped}")
        self.exported.emit(outcome)

    def _set_status(self, text: str) -> None:
        self.status = text
        self.stateChanged.emit()
