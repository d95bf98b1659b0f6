"""Restoring a library photo's best moment: its top-ranked frame through the one-photo pipeline (core.pipeline),
written into an output folder. One call per photo; the app's restore queue runs several, one after another."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from livemoments_app.core.errors import RestoreError
from livemoments_app.core.jobs import Progress
from livemoments_app.core.library import best as best_mod
from livemoments_app.core.library.cache import LibraryCache
from livemoments_app.core.library.entry import BestMoment, LibraryEntry

PREVIEW_SIDE = 256


@dataclass
class RestoreSettings:
    out_dir: Path
    restorer: str = "auto"
    device: str = "auto"
    model_dirs: list[str] = field(default_factory=list)
    format: str = "auto"                 # core.export.ExportOptions.format
    write_back: bool = False             # a new Live Photo / Motion Photo instead of a still
    encoder_process: bool = False        # core.export.ExportOptions.encoder_process (the app's queue: True)


@dataclass
class RestoredMoment:
    path: Path                           # the photo restored
    best: BestMoment
    written: list[Path] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)   # metadata fields the export could not carry over
    preview: bytes | None = None         # a small JPEG of the result
    note: str = ""                       # set when nothing was written, and why


def restore_best_moment(entry: LibraryEntry, settings: RestoreSettings, cache: LibraryCache | None = None,
                        progress: Progress | None = None) -> RestoredMoment:
    """Scores the photo if it was not yet, restores its best frame and writes it. When the key photo itself
    ranks best there is nothing to restore: the result says so and nothing is written."""
    from livemoments_app.core.export import ExportOptions
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.pipeline import KEY_PHOTO_IS_BEST, RestoreJob, restore_open, write_outcome

    progress = progress or Progress()
    if entry.error:
        raise RestoreError(entry.error, entry.path)
    with open_live_photo(entry.path, entry.partner) as live:       # opened once for scoring and restoring
        if entry.best is None:
            best_mod.score_entry(entry, cache, progress.sub(0.0, 0.25), live=live)
        best = entry.best
        if best is None:
            raise RestoreError("the clip has no frames to rank", entry.path)
        if best.is_key_photo:
            return RestoredMoment(entry.path, best, note=KEY_PHOTO_IS_BEST)
        job = RestoreJob(path=entry.path, partner=entry.partner, frame_index=best.index, restorer=settings.restorer,
                         device=settings.device, model_dirs=list(settings.model_dirs) or None)
        outcome = restore_open(live, job, progress=progress.sub(0.25, 0.65))
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    options = ExportOptions(format=settings.format, encoder_process=settings.encoder_process)
    written = write_outcome(outcome, settings.out_dir, options, write_back=settings.write_back,
                            progress=progress.sub(0.9, 0.1))
    return RestoredMoment(entry.path, best, written.paths, written.skipped, _preview(outcome.image.pixels))


def _preview(pixels) -> bytes:
    from PIL import Image

    from livemoments_app.core.align.pixels import to_rgb_u8

    image = Image.fromarray(to_rgb_u8(pixels))
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
