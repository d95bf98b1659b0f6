"""Batch mode of `livemoments restore`: many inputs (files, folders, globs), one output folder, a summary.

    livemoments restore IMG_*.HEIC ~/Pictures/live --offset -0.3 [--write-back] [--jobs 2] [--out DIR] [--dry-run]

Each input is opened, the frame picked (``--frame I``, ``--time T`` or ``--offset S`` from the key photo),
aligned, restored and exported -- or, with ``--write-back``, written as a new Live Photo / Motion Photo whose key
photo is the restored frame. A file that fails is reported and the batch goes on; the exit status is 1 when any
failed. Results go to ``--out`` (default ``./livemoments-out``), never next to the originals unless that folder
is named explicitly.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from livemoments_app.core.errors import LivePhotoError
from livemoments_app.core.jobs import CancelToken, Cancelled, Progress

DEFAULT_OUT = "livemoments-out"
_GLOB_CHARS = set("*?[")


@dataclass
class ItemResult:
    input: Path
    ok: bool
    outputs: list[Path] = field(default_factory=list)
    key_frame: int | None = None
    frame: int | None = None
    restorer: str = ""
    seconds: float = 0.0
    error: str = ""
    notes: list[str] = field(default_factory=list)     # metadata fields that could not be carried


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The batch-only options of `restore` (``--offset`` lives with --time/--frame in restore.py)."""
    parser.add_argument("--out", metavar="DIR",
                        help=f"output folder for many inputs (default ./{DEFAULT_OUT}; created if missing)")
    parser.add_argument("--write-back", action="store_true",
                        help="write a new Live Photo / Motion Photo whose key photo is the restored frame")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="photos processed at once (default 1)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing")


def wants_batch(args: argparse.Namespace) -> bool:
    """Batch unless this is the single-photo form: one photo (or one still + its video) and ``-o OUT``."""
    if getattr(args, "reference", None) is not None or getattr(args, "target", None) is not None:
        return False                       # plain-image mode of restore.py
    inputs = list(getattr(args, "inputs", None) or [])
    if args.out or args.write_back or args.dry_run or args.jobs != 1 or getattr(args, "output", None) is None:
        return True
    if len(inputs) > 2 or any(Path(p).is_dir() or _is_glob(p) for p in inputs):
        return True
    return len(inputs) == 2 and not _is_pair(Path(inputs[0]), Path(inputs[1]))


def _is_glob(text: str) -> bool:
    return not Path(text).exists() and bool(_GLOB_CHARS & set(text))


def _is_pair(a: Path, b: Path) -> bool:
    from livemoments_app.core.livephoto.open import VIDEO_EXTS

    return (a.suffix.lower() in VIDEO_EXTS) != (b.suffix.lower() in VIDEO_EXTS)


def expand_inputs(items: list[str]) -> tuple[list[Path], list[ItemResult]]:
    """Photos to process (files, folder contents, glob matches; Apple pairs once, by their still) and the
    inputs that name nothing (reported as failures)."""
    from livemoments_app.core.livephoto.open import STILL_EXTS, VIDEO_EXTS, find_partner

    media = STILL_EXTS + VIDEO_EXTS
    found: list[Path] = []
    missing: list[ItemResult] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in media
                            and not p.name.startswith("."))
        elif path.exists():
            found.append(path)
        elif _is_glob(item):
            matches = sorted(Path(m) for m in glob.glob(os.path.expanduser(item), recursive=True))
            matches = [m for m in matches if m.is_file() and m.suffix.lower() in media]
            if not matches:
                missing.append(ItemResult(path, False, error=f"{item}: no photo matches"))
            found += matches
        else:
            missing.append(ItemResult(path, False, error=f"{path.name}: no such file"))
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    # The MOV of an Apple pair comes along with its still; keep a video only when it has no still beside it.
    partners = set()
    for path in unique:
        if path.suffix.lower() in STILL_EXTS:
            video = find_partner(path, "video")
            if video is not None:
                partners.add(video.resolve())
    return [p for p in unique if p.resolve() not in partners], missing


def _job(args: argparse.Namespace, path: Path):
    from livemoments_app.core.pipeline import RestoreJob

    return RestoreJob(path=path, time_s=args.time, frame_index=args.frame, offset_s=args.offset,
                      restorer=args.restorer, device=args.device, scale=args.scale, model_dirs=args.models)


def _export_options(args: argparse.Namespace):
    from livemoments_app.core.export import ExportOptions

    return ExportOptions(format=args.format)


def process(path: Path, args: argparse.Namespace, out_dir: Path, progress: Progress) -> ItemResult:
    """Restores one photo and writes the result; failures come back as an ItemResult, never raised."""
    from livemoments_app.core.pipeline import restore_job, write_outcome

    started = time.perf_counter()
    result = ItemResult(path, False)
    try:
        outcome = restore_job(_job(args, path), progress.sub(0.0, 0.85))
        result.frame = outcome.frame_index
        result.key_frame = getattr(outcome.metadata_source, "key_frame_index", None)
        result.restorer = getattr(outcome.image, "restorer", "")
        written = write_outcome(outcome, out_dir, _export_options(args), write_back=args.write_back,
                                progress=progress.sub(0.85, 0.15))
        result.outputs, result.notes = written.paths, written.skipped
        result.ok = True
    except (Cancelled, KeyboardInterrupt):
        raise
    except LivePhotoError as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one broken photo must not end the batch; say what happened
        result.error = f"{path.name}: unexpected {type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - started
    return result


def plan(path: Path, args: argparse.Namespace, out_dir: Path) -> ItemResult:
    """--dry-run: open the photo, pick the frame, and name what would be written."""
    from livemoments_app.core.pipeline import pick_frame
    from livemoments_app.core.export import write_back_kind
    from livemoments_app.core.export.files import SUFFIX, free_stem
    from livemoments_app.core.export.still import StillMetadata, extension_for, resolve_format, write_back_format
    from livemoments_app.core.export.writeback_motion import output_stem
    from livemoments_app.core.livephoto import open_live_photo

    started = time.perf_counter()
    result = ItemResult(path, False)
    try:
        job = _job(args, path)
        job.check()
        with open_live_photo(path) as live:
            result.key_frame = live.key_frame_index
            result.frame = pick_frame(live, job)
            meta = StillMetadata.of(live)
            stem, suffix = path.stem, SUFFIX
            if args.write_back:
                kind = write_back_kind(live)
                if kind is None:
                    raise LivePhotoError("cannot be written back as a Live Photo / Motion Photo", path)
                fmt = write_back_format(args.format, meta, live.still.pixels)
                exts = [extension_for(fmt, meta)]
                if kind == "apple" and live.video_path is not None:
                    exts.append(live.video_path.suffix)
                if kind == "motion":
                    stem, suffix = output_stem(live.still_path, SUFFIX)
            else:
                exts = [extension_for(resolve_format(args.format, meta, live.still.pixels), meta)]
            name = free_stem(out_dir, stem, exts, suffix) if out_dir.is_dir() else f"{stem}{suffix}"
            result.outputs = [out_dir / f"{name}{ext}" for ext in exts]
        result.ok = True
    except (Cancelled, KeyboardInterrupt):
        raise
    except LivePhotoError as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001
        result.error = f"{path.name}: unexpected {type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - started
    return result


def _bar(total: int):
    """A tqdm bar on a terminal; a no-op object elsewhere (tests, pipes)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="photo", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False,
                bar_format="{desc:<30.30} {n_fmt}/{total_fmt} |{bar}| {elapsed}<{remaining}")


def summary(results: list[ItemResult], *, dry_run: bool, out=None) -> None:
    out = out or sys.stdout
    rows = [("input", "status", "frame", "restorer", "time", "written" if not dry_run else "would write")]
    for r in results:
        frame = "" if r.frame is None else (f"{r.key_frame}->{r.frame}" if r.key_frame is not None else str(r.frame))
        status = ("planned" if dry_run else "ok") if r.ok else "FAILED"
        what = ", ".join(str(p) for p in r.outputs) if r.ok else r.error
        rows.append((r.input.name, status, frame, r.restorer, f"{r.seconds:.1f}s", what))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths)) + "  " + row[5], file=out)
    notes = [(r.input.name, n) for r in results if r.ok for n in r.notes]
    for name, note in notes:
        print(f"note: {name}: not carried over: {note}", file=out)


def run(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        print("livemoments: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    paths, missing = expand_inputs(list(args.inputs or []))
    if not paths and not missing:
        print("livemoments: error: no photos given (files, folders or globs)", file=sys.stderr)
        return 2
    from livemoments_app.core.livephoto.open import STILL_EXTS, VIDEO_EXTS

    out_dir = Path(args.out or getattr(args, "output", None) or DEFAULT_OUT).expanduser()
    if out_dir.suffix.lower() in STILL_EXTS + VIDEO_EXTS + (".png",) and not out_dir.is_dir():
        print(f"livemoments: error: {out_dir} looks like a file name; with many photos, --write-back, --jobs or "
              f"--dry-run the output is a folder", file=sys.stderr)
        return 2
    if not args.dry_run:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"livemoments: error: cannot create the output folder {out_dir}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
    results: list[ItemResult | None] = [None] * len(paths)
    bar = _bar(len(paths))
    lock = threading.Lock()

    token = CancelToken()

    def one(i: int) -> ItemResult:
        with lock:
            bar.set_description_str(paths[i].name)
        if args.dry_run:
            return plan(paths[i], args, out_dir)
        return process(paths[i], args, out_dir, Progress(token=token))

    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {pool.submit(one, i): i for i in range(len(paths))}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            with lock:
                bar.update(1)
    except BaseException:
        # Ctrl-C or a cancel: photos not started are dropped, running ones stop at their next step.
        token.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
    done = missing + [r for r in results if r is not None]
    summary(done, dry_run=args.dry_run)
    failed = [r for r in done if not r.ok]
    if failed:
        print(f"\n{len(failed)} of {len(done)} failed:", file=sys.stderr)
        for r in failed:
            print(f"  {r.error}", file=sys.stderr)
        return 1
    return 0
