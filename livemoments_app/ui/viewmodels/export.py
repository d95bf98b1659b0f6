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


def _export(image, live, choice: ExportChoice, progress):
    from livemoments_app.core.export.still import ExportOptions, StillMetadata, export_still

    meta = StillMetadata.of(live)
    if not choice.keep_metadata:
        # The ICC profile stays: it says what colours the pixels are, it is not personal metadata.
        meta = StillMetadata(icc_profile=meta.icc_profile, bit_depth=meta.bit_depth, mime=meta.mime,
                             source_paths=meta.source_paths)
    quality = None if choice.format == "png" else int(choice.quality)
    options = ExportOptions(format=choice.format, quality=quality, strip_location=choice.strip_location)
    target = Path(choice.folder) / choice.filename if choice.filename else Path(choice.folder)
    return export_still(image, meta, target, options, progress)


class ExportModel(QObject):
    stateChanged = Signal()
    exported = Signal(object)          # core ExportResult

    def __init__(self, lanes: Lanes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes
        self.job: Job | None = None
        self.last_path: str | None = None
        self.status = ""

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    def start(self, image, live, choice: ExportChoice) -> Job:
        job = self.lanes.work.run(lambda p: _export(image, live, choice, p), name="Exporting")
        self.job = job
        self.status = "Exporting…"
        job.progressed.connect(lambda _f, text: self._set_status(text or "Exporting…"))
        job.succeeded.connect(self._on_done)
        job.failed.connect(lambda _exc: self._set_status("Export failed."))
        job.cancelled.connect(lambda: self._set_status("Export cancelled."))
        self.stateChanged.emit()
        return job

    def _on_done(self, result) -> None:
        self.last_path = os.fspath(result.path)
        skipped = f" (not carried over: {', '.join(result.skipped)})" if getattr(result, "skipped", None) else ""
        self._set_status(f"Saved {os.path.basename(self.last_path)} in {os.path.dirname(self.last_path)}{skipped}")
        self.exported.emit(result)

    def _set_status(self, text: str) -> None:
        self.status = text
        self.stateChanged.emit()
