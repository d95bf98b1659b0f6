"""Batch mode of `livemoments restore`: many inputs (files, folders, globs), one output folder, resumable.

    livemoments restore IMG_*.HEIC ~/Pictures/live --offset -0.3 [--write-back] [--jobs 2] [--out DIR]
                        [--engine local|ray [--ray-address auto|HOST:PORT]] [--retry-failed] [--restart]
                        [--dry-run] [--json]

Each photo is opened, the frame picked (``--frame I|key|best``, ``--time T`` or ``--offset S`` from the key photo),
aligned, restored and exported -- or, with ``--write-back``, written as a new Live Photo / Motion Photo whose key
photo is the restored frame. The batch keeps a journal in the output folder (core.batch): running the same
command again resumes it, skipping photos already done. A photo that fails is recorded and the batch goes on;
the exit status is 1 when any failed. Results go to ``--out`` (default ``./livemoments-out``), never next to the
originals unless that folder is named explicitly.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from livemoments_app.cli.terminal import reported_size
from livemoments_app.core.batch.inputs import Unmatched, expand_inputs, is_glob
from livemoments_app.core.batch.item import ItemResult, WorkerLost, preview_item
from livemoments_app.core.batch.journal import FolderLock, JournalMismatchError, Row
from livemoments_app.core.batch.plan import BatchSettings, FrameChoice
from livemoments_app.core.batch.engines import ENGINES, make_engine
from livemoments_app.core.batch.runner import (RunCounts, done_problem, failure, item_of, open_batch,
                                               preview_rows, run_batch, summary, triage)
from livemoments_app.core.errors import RestoreError
from livemoments_app.core.file_types import STILL_EXTS, VIDEO_EXTS
from livemoments_app.core.pipeline import KEY_PHOTO_IS_BEST, MOMENTS

DEFAULT_OUT = "livemoments-out"


def frame_arg(text: str) -> int | str:
    """``--frame``: a 0-based index, ``key`` (the key photo's own frame) or ``best`` (the best suggested moment)."""
    if text in MOMENTS:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a frame index or one of {', '.join(MOMENTS)}, got {text!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The batch-only options of `restore` (``--frame``/``--time``/``--offset`` and ``--json``, whose output
    differs by form, live in restore.py)."""
    parser.add_argument("--out", metavar="DIR",
                        help=f"output folder for many inputs (default ./{DEFAULT_OUT}; created if missing); it "
                             f"holds the batch's journal, so the same command resumes")
    parser.add_argument("--write-back", action="store_true",
                        help="write a new Live Photo / Motion Photo whose key photo is the restored frame")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="photos restored at once (local: default 1; ray: default as many as the cluster's "
                             "GPUs, or CPUs / --cpus-per-photo, allow)")
    parser.add_argument("--dry-run", action="store_true", help="show the plan and what would be written; write "
                                                                "nothing")
    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="local: threads on this machine (default); ray: workers of a Ray cluster (the "
                             "'cluster' extra; inputs and --out on a folder every machine sees)")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="the Ray cluster: auto (the one this machine belongs to) or HOST:PORT; without it a "
                             "Ray instance is started on this machine")
    parser.add_argument("--cpus-per-photo", type=float, metavar="N",
                        help="ray, classic restorer: CPUs each worker reserves (default 1)")
    parser.add_argument("--retry-failed", action="store_true", help="try again the photos that failed before")
    parser.add_argument("--restart", action="store_true",
                        help="start the batch over: forget the journal in the output folder and replace the "
                             "outputs it recorded (needed to change the settings of a batch)")


def wants_batch(args: argparse.Namespace) -> bool:
    """Batch unless this is the single-photo form: one photo (or one still + its video) and ``-o OUT``."""
    if getattr(args, "reference", None) is not None or getattr(args, "target", None) is not None:
        return False                       # plain-image mode of restore.py
    inputs = list(getattr(args, "inputs", None) or [])
    if (args.out or args.write_back or args.dry_run or args.jobs is not None or args.engine != "local"
            or args.ray_address or args.retry_failed or args.restart or getattr(args, "output", None) is None):
        return True
    if len(inputs) > 2 or any(Path(p).is_dir() or is_glob(p) for p in inputs):
        return True
    return len(inputs) == 2 and not _is_pair(Path(inputs[0]), Path(inputs[1]))


def _is_pair(a: Path, b: Path) -> bool:
    return (a.suffix.lower() in VIDEO_EXTS) != (b.suffix.lower() in VIDEO_EXTS)


def frame_choice(args: argparse.Namespace) -> FrameChoice:
    if args.frame in MOMENTS:
        return FrameChoice(args.frame)
    if args.frame is not None:
        return FrameChoice("index", args.frame)
    if args.time is not None:
        return FrameChoice("time", args.time)
    if args.offset is not None:
        return FrameChoice("offset", args.offset)
    raise RestoreError("say which frame to restore: --frame I (or key or best), --time T or --offset S")


# ------------------------------------------------------------------------------------------------ progress


class TerminalProgress:
    """Photos done / total with rate and ETA: a tqdm bar on a terminal, one plain line per photo elsewhere
    (logs, pipes). Photos already done count as done from the start but not into the rate."""

    def __init__(self, total: int, already: int, *, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.done, self.failed = total, already, 0
        self.started_at = time.monotonic()
        self._already = already
        self._bar = None
        if self.stream.isatty():
            from tqdm import tqdm

            follow = reported_size(self.stream) is not None     # else a fixed size: see reported_size
            self._bar = tqdm(total=total, initial=already, unit="photo", file=self.stream, dynamic_ncols=follow,
                             ncols=None if follow else 80, nrows=None if follow else 24,
                             bar_format="{n_fmt}/{total_fmt} photos |{bar}| {rate_fmt} ETA {remaining}{postfix}")

    def _say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def started(self, item, worker) -> None:
        pass

    def finished(self, item, result: ItemResult) -> None:
        self.done += 1
        self.failed += not result.ok
        if self._bar is not None:
            if self.failed:
                self._bar.set_postfix_str(f"{self.failed} failed", refresh=False)
            self._bar.update(1)
            return
        from tqdm import tqdm

        elapsed = time.monotonic() - self.started_at
        rate = (self.done - self._already) / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        if not result.ok:
            what = f"FAILED: {result.error}"
        elif result.kept_key_photo:
            what = f"{KEY_PHOTO_IS_BEST}, nothing written ({result.seconds:.1f} s)"
        else:
            what = f"restored in {result.seconds:.1f} s"
        self._say(f"[{self.done}/{self.total}] {item.source.name}: {what} ({rate * 60:.1f} photos/min, "
                  f"ETA {tqdm.format_interval(left)})")

    def retrying(self, item, lost: WorkerLost, attempt: int) -> None:
        self._say(f"{item.source.name}: its worker {lost.worker} was lost ({lost.reason}); trying again "
                  f"(attempt {attempt})")

    def notice(self, text: str) -> None:
        self._say(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ------------------------------------------------------------------------------------------------ output


def _frame_text(key_frame: int | None, frame: int | None) -> str:
    if frame is None:
        return ""
    return f"{key_frame}->{frame}" if key_frame is not None else str(frame)


def _table(rows: list[tuple[str, ...]], out) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths)) + "  " + row[5], file=out)


def _report_failures(failures: list[dict], total: int, hint: str = "") -> None:
    if failures:
        print(f"\n{len(failures)} of {total} failed{hint}:", file=sys.stderr)
        for f in failures:
            print(f"  {f['error']}", file=sys.stderr)


def _check_out_dir(out_dir: Path) -> str | None:
    if out_dir.suffix.lower() in STILL_EXTS + VIDEO_EXTS + (".png",) and not out_dir.is_dir():
        return (f"{out_dir} looks like a file name; with many photos, --write-back, --jobs or --dry-run the output "
                f"is a folder")
    return None


def _mismatch(exc: JournalMismatchError) -> int:
    print(f"livemoments: error: {exc}.\n  Run the earlier command to resume that batch, add --restart to start over "
          f"with these settings (the outputs it recorded are replaced), or choose another --out folder.",
          file=sys.stderr)
    return 2


def _dry_run(paths: list[Path], unmatched: list[Unmatched], out_dir: Path, settings: BatchSettings,
             args: argparse.Namespace) -> int:
    try:
        rows = preview_rows(out_dir, settings, paths, restart=args.restart)
    except JournalMismatchError as exc:
        return _mismatch(exc)
    table = [("input", "status", "frame", "restorer", "time", "would write")]
    failures = [failure(u.input, u.error) for u in unmatched]
    table += [(u.input.name, "FAILED", "", "", "", u.error) for u in unmatched]

    def look(row: Row) -> tuple[Row, str, ItemResult | None]:
        if row.state == "done" and done_problem(out_dir, row) is None:
            return row, "done", None
        if row.state == "failed" and not args.retry_failed:
            return row, "failed", None
        return row, "planned", preview_item(item_of(row), settings, out_dir)

    with ThreadPoolExecutor(args.jobs or 1) as pool:
        looked = list(pool.map(look, rows))
    for row, status, preview in looked:
        if preview is None:
            what = _written(row, out_dir) if status == "done" else \
                f"skipped (--retry-failed to try again): {row.error}"
            table.append((row.source.name, status, _frame_text(row.key_frame, row.frame), row.restorer, "", what))
        elif preview.kept_key_photo:
            table.append((row.source.name, "nothing to do", _frame_text(preview.key_frame, preview.frame), "",
                          f"{preview.seconds:.1f}s", f"nothing ({KEY_PHOTO_IS_BEST})"))
        elif preview.ok:
            table.append((row.source.name, "planned", _frame_text(preview.key_frame, preview.frame),
                          settings.restorer, f"{preview.seconds:.1f}s",
                          ", ".join(str(out_dir / name) for name, _ in preview.outputs)))
        else:
            table.append((row.source.name, "FAILED", "", settings.restorer, f"{preview.seconds:.1f}s",
                          preview.error))
            failures.append(failure(row.source, preview.error))
    if args.json:
        statuses = [row[1] for row in table[1:]]
        counts = {"to_do": statuses.count("planned"), "key_photo_is_best": statuses.count("nothing to do"),
                  "done": statuses.count("done"),
                  "failed_before": statuses.count("failed"), "failing": statuses.count("FAILED")}
        print(json.dumps({"output_folder": str(out_dir), "dry_run": True, "photos": len(rows), "plan": counts,
                          "failures": failures}, indent=2))
    else:
        _table(table, sys.stdout)
    _report_failures(failures, len(rows) + len(unmatched))
    return 1 if failures else 0


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        print("livemoments: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    for flag, given in (("--ray-address", args.ray_address), ("--cpus-per-photo", args.cpus_per_photo)):
        if given is not None and args.engine != "ray":
            print(f"livemoments: error: {flag} needs --engine ray", file=sys.stderr)
            return 2
    paths, unmatched = expand_inputs(list(args.inputs or []))
    if not paths and not unmatched:
        print("livemoments: error: no photos given (files, folders or globs)", file=sys.stderr)
        return 2
    out_dir = Path(args.out or getattr(args, "output", None) or DEFAULT_OUT).expanduser()
    problem = _check_out_dir(out_dir)
    if problem:
        print(f"livemoments: error: {problem}", file=sys.stderr)
        return 2
    frame = frame_choice(args)
    engine = make_engine(args.engine, jobs=args.jobs, address=args.ray_address,
                         cpus_per_photo=args.cpus_per_photo or 1.0)
    try:
        restorer = engine.resolve_restorer(args.restorer, args.models)
        settings = BatchSettings(frame, restorer, args.scale, args.format, args.write_back, args.device,
                                 tuple(args.models or ()))
        if args.dry_run:
            return _dry_run(paths, unmatched, out_dir, settings, args)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"livemoments: error: cannot create the output folder {out_dir}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
        with FolderLock(out_dir):
            return _run(paths, unmatched, out_dir, settings, engine, args)
    finally:
        engine.close()


def _run(paths: list[Path], unmatched: list[Unmatched], out_dir: Path, settings: BatchSettings, engine,
         args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        journal, rows = open_batch(out_dir, settings, paths, restart=args.restart)
    except JournalMismatchError as exc:
        return _mismatch(exc)
    with journal:
        triaged = triage(rows, out_dir, retry_failed=args.retry_failed, journal=journal)
        progress = TerminalProgress(len(rows), len(triaged.done) + len(triaged.failed))
        for row in triaged.todo:
            if row.id in triaged.redo and triaged.redo[row.id] != "interrupted":
                progress.notice(f"{row.source.name}: redone ({triaged.redo[row.id]})")
        try:
            counts = run_batch(journal, [item_of(row) for row in triaged.todo], settings, out_dir, engine, progress)
        finally:
            progress.close()
        wall = time.perf_counter() - started
        ids = [row.id for row in rows]
        done_now = {row.id for row in triaged.todo}
        mine = set(ids)
        final = [row for row in journal.rows() if row.id in mine]
        numbers = summary(journal, ids, wall_s=wall, triaged=triaged, counts=counts, unmatched=unmatched)
    failures = numbers["failures"]
    if args.json:
        print(json.dumps(numbers, indent=2))
    else:
        _print_run(final, done_now, unmatched, out_dir, triaged, counts, wall, numbers["journal"])
    hint = " (--retry-failed tries them again)" if triaged.failed else ""
    _report_failures(failures, len(rows) + len(unmatched), hint)
    return 1 if failures else 0


def _written(row: Row, out_dir: Path) -> str:
    """What a done photo wrote, for the tables."""
    if row.kept_key_photo:
        return f"nothing ({KEY_PHOTO_IS_BEST})"
    return ", ".join(str(out_dir / name) for name, _ in row.outputs)


def _print_run(final: list[Row], done_now: set[int], unmatched: list[Unmatched], out_dir: Path, triaged,
               counts: RunCounts, wall: float, journal_path: str) -> None:
    table = [("input", "status", "frame", "restorer", "time", "written")]
    table += [(u.input.name, "FAILED", "", "", "", u.error) for u in unmatched]
    for row in final:
        if row.id not in done_now:
            continue
        ok = row.state == "done"
        what = _written(row, out_dir) if ok else row.error
        status = ("kept" if row.kept_key_photo else "ok") if ok else "FAILED"
        table.append((row.source.name, status, _frame_text(row.key_frame, row.frame),
                      row.restorer, f"{row.seconds or 0:.1f}s", what))
    if len(table) > 1:
        _table(table, sys.stdout)
    for row in final:
        if row.id in done_now and row.state == "done":
            for note in row.notes:
                print(f"note: {row.source.name}: not carried over: {note}")
    skipped = f", {counts.kept} kept (their key photo is the best moment)" if counts.kept else ""
    skipped += f", {len(triaged.done)} already done (outputs checked)" if triaged.done else ""
    skipped += f", {len(triaged.failed)} failed before (not retried)" if triaged.failed else ""
    retried = f", {counts.retried} retried after a lost worker" if counts.retried else ""
    print(f"{counts.restored} restored, {counts.failed + len(unmatched)} failed{skipped}{retried} in {wall:.1f} s; "
          f"journal: {journal_path}")
