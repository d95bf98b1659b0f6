"""One photo of a batch, start to finish: the function every engine runs unchanged (a thread here, a Ray worker
elsewhere). It restores through core.pipeline, writes through the atomic exporters under the name the plan
reserved, and returns what it wrote with each file's SHA-256; the driver records that in the journal."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from livemoments_app.core.batch.plan import BatchSettings, PlanItem
from livemoments_app.core.errors import LivePhotoError, RestoreError
from livemoments_app.core.jobs import Cancelled, Progress

# atomic_write's temporary files: ".<target name>.<8 hex digits>.part" beside the target.
_PART = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{8}\.part$")


@dataclass
class ItemResult:
    id: int
    source: Path
    ok: bool
    outputs: list[tuple[str, str]] = field(default_factory=list)   # (file name in the output folder, sha256)
    frame: int | None = None
    key_frame: int | None = None
    restorer: str = ""
    seconds: float = 0.0
    error: str = ""
    notes: list[str] = field(default_factory=list)                 # metadata that could not be carried over
    worker: str = ""

    @property
    def kept_key_photo(self) -> bool:
        """Done, and nothing to write: the best moment asked for is the key photo's own (pipeline.KeyPhotoIsBest);
        the same rule as the journal's Row.kept_key_photo."""
        return self.ok and not self.outputs and self.frame is not None and self.frame == self.key_frame


@dataclass
class WorkerLost:
    """A photo's attempt lost with its worker (killed, out of memory, its machine gone): retried, bounded."""

    worker: str
    reason: str


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def checksum(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _one_line(exc: Exception, source: Path) -> str:
    text = str(exc) if isinstance(exc, LivePhotoError) else f"{source.name}: unexpected {type(exc).__name__}: {exc}"
    return " ".join(text.split())


def restore_item(item: PlanItem, settings: BatchSettings, out_dir: Path, *, restorer=None,
                 progress: Progress | None = None, worker: str = "") -> ItemResult:
    """Restores one photo and writes it into ``out_dir``; a failure comes back in the result, never raised
    (cancellation is). ``restorer``: the worker's own, made once for all its photos."""
    from livemoments_app.core.pipeline import KeyPhotoIsBest, restore_job, write_outcome

    progress = progress or Progress()
    started = time.perf_counter()
    result = ItemResult(item.id, item.source, False, worker=worker or worker_label())
    try:
        try:
            outcome = restore_job(settings.job(item.source), progress.sub(0.0, 0.85), restorer)
        except KeyPhotoIsBest as exc:
            result.frame = result.key_frame = exc.frame_index
            result.ok = True
            return result
        result.frame = outcome.frame_index
        result.key_frame = outcome.info.get("key_frame_index")
        result.restorer = getattr(outcome.image, "restorer", "")
        written = write_outcome(outcome, out_dir, settings.export_options(item.suffix),
                                write_back=settings.write_back, progress=progress.sub(0.85, 0.15))
        result.outputs = [(path.name, checksum(path)) for path in written.paths]
        result.notes = list(written.skipped)
        result.ok = True
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - one broken photo must not end the batch; say what happened
        result.error = _one_line(exc, item.source)
    finally:
        result.seconds = time.perf_counter() - started
    return result


def preview_item(item: PlanItem, settings: BatchSettings, out_dir: Path) -> ItemResult:
    """For a dry run: opens the photo, picks the frame and names the files a run would write. Writes nothing."""
    from livemoments_app.core.export import StillMetadata, write_back_kind
    from livemoments_app.core.export.still import extension_for, resolve_format, write_back_format
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.pipeline import KeyPhotoIsBest, pick_frame

    started = time.perf_counter()
    result = ItemResult(item.id, item.source, False, restorer=settings.restorer, worker=worker_label())
    try:
        job = settings.job(item.source)
        job.check()
        with open_live_photo(item.source) as live:
            result.key_frame = live.key_frame_index
            try:
                result.frame = pick_frame(live, job)
            except KeyPhotoIsBest as exc:
                result.frame = exc.frame_index
                result.ok = True
                return result
            meta = StillMetadata.of(live)
            if settings.write_back:
                kind = write_back_kind(live)
                if kind is None:
                    raise RestoreError("cannot be written back as a Live Photo / Motion Photo", item.source)
                exts = [extension_for(write_back_format(settings.format, meta, live.still.pixels), meta)]
                if kind == "apple" and live.video_path is not None:
                    exts.append(live.video_path.suffix)
            else:
                exts = [extension_for(resolve_format(settings.format, meta, live.still.pixels), meta)]
        result.outputs = [(f"{item.name}{ext}", "") for ext in exts]
        result.ok = True
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001
        result.error = _one_line(exc, item.source)
    finally:
        result.seconds = time.perf_counter() - started
    return result


def leftovers(out_dir: Path, names: set[str]) -> dict[str, list[Path]]:
    """Per reserved name (of ``names``), the files in ``out_dir`` that carry it: finished outputs
    (``<name>.<ext>``) and temporary files an interrupted write left (``.<name>.<ext>.<hex>.part``). One listing
    of the folder, whatever the batch's size."""
    found: dict[str, list[Path]] = {}
    try:
        entries = list(os.scandir(out_dir))
    except FileNotFoundError:
        return found
    for entry in entries:
        part = _PART.match(entry.name)
        stem = Path(part["target"]).stem if part else Path(entry.name).stem
        if stem in names:
            found.setdefault(stem, []).append(Path(entry.path))
    return found


def is_partial(path: Path) -> bool:
    return _PART.match(path.name) is not None
