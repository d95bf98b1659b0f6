"""The batch driver: opens (or starts) the journal, decides what is left to do, hands photos to an engine and
records what comes back. It is the journal's only writer; engines run photos and report results.

Resuming is running the same batch again:

* a photo ``done`` is skipped when every output it recorded is still there with its SHA-256; a missing or
  changed output is removed and the photo redone (under the same name);
* a photo ``running`` at start-up was interrupted (the driver was killed): it is redone;
* a photo ``failed`` is retried only when asked (``retry_failed``);
* before a photo is (re)done, whatever carries its reserved name in the output folder is removed: an earlier
  attempt's unacknowledged output or a temporary file a killed writer left (``.<name>.<ext>.<hex>.part``).

A journal made with other settings (another frame, restorer, format...) raises JournalMismatchError; with
``restart`` its outputs that are still as written are removed and a new journal begins.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from livemoments_app.core.batch.item import ItemResult, WorkerLost, checksum, is_partial, leftovers
from livemoments_app.core.batch.journal import JOURNAL_NAME, Journal, Row
from livemoments_app.core.batch.plan import BatchSettings, PlanItem, names_in, reserve_names

MAX_ATTEMPTS = 3            # a photo whose worker dies this many times in one run is recorded as failed
_HASH_THREADS = 4


class Reporter(Protocol):
    def started(self, item: PlanItem, worker: str) -> None: ...
    def finished(self, item: PlanItem, result: ItemResult) -> None: ...
    def retrying(self, item: PlanItem, lost: WorkerLost, attempt: int) -> None: ...
    def notice(self, text: str) -> None: ...


class SilentReporter:
    def started(self, item, worker): pass
    def finished(self, item, result): pass
    def retrying(self, item, lost, attempt): pass
    def notice(self, text): pass


def item_of(row: Row) -> PlanItem:
    return PlanItem(row.id, row.source, row.name, row.suffix)


def source_key(path: Path) -> str:
    """How a photo is named in the journal: absolute, symlinks kept (cluster machines may resolve them
    differently), so the same command finds its rows again."""
    return os.path.abspath(os.path.expanduser(path))


# ------------------------------------------------------------------------------------------------ the plan


def _new_entries(sources: list[Path], known: dict[str, Row], out_dir: Path, write_back: bool,
                 leaving_out: set[str] = frozenset()) -> list[tuple[Path, str, str]]:
    new = [Path(source_key(s)) for s in sources if source_key(s) not in known]
    taken = names_in(out_dir, leaving_out) | {row.name.casefold() for row in known.values()}
    return [(source, name, suffix) for source, (name, suffix) in zip(new, reserve_names(new, write_back, taken))]


def open_batch(out_dir: Path, settings: BatchSettings, sources: list[Path], *,
               restart: bool = False) -> tuple[Journal, list[Row]]:
    """The journal of ``out_dir`` (made if missing; the folder must exist) and the rows of ``sources`` in their
    order, new photos added with their reserved names."""
    journal = Journal(out_dir)
    try:
        if restart:
            journal = _discard(journal)
        journal.check_identity(settings.identity())
        known = {str(row.source): row for row in journal.rows()}
        for row in journal.add(_new_entries(sources, known, out_dir, settings.write_back)):
            known[str(row.source)] = row
        return journal, [known[source_key(s)] for s in sources]
    except BaseException:
        journal.close()
        raise


def _as_written(journal: Journal) -> list[Path]:
    """The journal's outputs that are still as it wrote them: what a restart removes (an edited one is the
    user's now)."""
    outputs = [(journal.folder / name, digest) for row in journal.rows() for name, digest in row.outputs]
    return [path for path, digest in outputs if path.is_file() and checksum(path) == digest]


def _discard(journal: Journal) -> Journal:
    """Removes a journal's outputs that are still as it wrote them, then the journal itself; returns a new,
    empty journal."""
    folder = journal.folder
    for path in _as_written(journal):
        path.unlink()
    journal.close()
    (folder / JOURNAL_NAME).unlink()
    return Journal(folder)


def preview_rows(out_dir: Path, settings: BatchSettings, sources: list[Path], *,
                 restart: bool = False) -> list[Row]:
    """What :func:`open_batch` would give, read-only: nothing is created or changed (for a dry run)."""
    known: dict[str, Row] = {}
    removed: set[str] = set()
    if Journal.exists(out_dir):
        with Journal(out_dir, readonly=True) as journal:
            if restart:
                removed = {path.name for path in _as_written(journal)}      # their names are free again
            else:
                stored = journal.identity
                if stored is not None and stored != settings.identity():
                    journal.check_identity(settings.identity())     # raises the mismatch, in words
                known = {str(row.source): row for row in journal.rows()}
    entries = _new_entries(sources, known, out_dir, settings.write_back, removed)
    for i, (source, name, suffix) in enumerate(entries):
        known[str(source)] = Row(-1 - i, source, name, suffix)
    return [known[source_key(s)] for s in sources]


# ------------------------------------------------------------------------------------------------ resuming


@dataclass
class Triage:
    todo: list[Row] = field(default_factory=list)
    done: list[Row] = field(default_factory=list)               # done earlier, outputs checked: skipped
    failed: list[Row] = field(default_factory=list)             # failed earlier, not retried
    redo: dict[int, str] = field(default_factory=dict)          # row id -> why a done/running photo is redone


def done_problem(out_dir: Path, row: Row) -> str | None:
    """Why a done photo is not done any more (None: it stands): a recorded output missing or not as written, or
    none recorded although it had something to write (its best moment was not the key photo)."""
    if row.kept_key_photo:
        return None
    if not row.outputs:
        return "no output recorded"
    for name, digest in row.outputs:
        path = out_dir / name
        if not path.is_file():
            return f"{name} is missing"
        if checksum(path) != digest:
            return f"{name} was changed or damaged"
    return None


def triage(rows: list[Row], out_dir: Path, *, retry_failed: bool = False,
           journal: Journal | None = None) -> Triage:
    """Sorts the rows into what to do and what to skip. With ``journal``, also acts on it: clears what carries
    the reserved names of photos to do, and records done/running photos that are redone as pending."""
    result = Triage()
    done = [row for row in rows if row.state == "done"]
    with ThreadPoolExecutor(_HASH_THREADS) as pool:        # hashing releases the GIL: disks and NFS overlap
        problems = dict(zip((row.id for row in done), pool.map(lambda r: done_problem(out_dir, r), done)))
    files = leftovers(out_dir, {row.name for row in rows}) if journal is not None else {}
    for row in rows:
        redo = None
        if row.state == "done":
            redo = problems[row.id]
            if redo is None:
                result.done.append(row)
                _remove([f for f in files.get(row.name, []) if is_partial(f)])
                continue
        elif row.state == "running":
            redo = "interrupted"
        elif row.state == "failed" and not retry_failed:
            result.failed.append(row)
            continue
        result.todo.append(row)
        if redo is not None:
            result.redo[row.id] = redo
        if journal is not None:
            _remove(files.get(row.name, []))
            if redo is not None:
                journal.mark_pending(row.id, redo)
    return result


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def clear_name(out_dir: Path, name: str) -> None:
    """Removes what carries a reserved name (before a photo lost with its worker is tried again)."""
    _remove(leftovers(out_dir, {name}).get(name, []))


# ------------------------------------------------------------------------------------------------ running


@dataclass
class RunCounts:
    restored: int = 0
    kept: int = 0               # nothing to restore: the best moment asked for was the key photo
    failed: int = 0
    retried: int = 0            # attempts lost with their worker and tried again


def run_batch(journal: Journal, todo: list[PlanItem], settings: BatchSettings, out_dir: Path, engine,
              reporter: Reporter | None = None, *, max_attempts: int = MAX_ATTEMPTS) -> RunCounts:
    """Runs ``todo`` on ``engine`` and records each outcome. Interrupted (Ctrl-C, a cancel), the photos in
    flight go back to pending and the exception propagates."""
    reporter = reporter or SilentReporter()
    counts = RunCounts()
    engine.start(settings, out_dir, notify=reporter.notice)
    queue = deque(todo)
    in_flight: dict[int, PlanItem] = {}
    lost: Counter[int] = Counter()
    try:
        while queue or in_flight:
            while queue and engine.has_room():
                item = queue.popleft()
                worker = engine.submit(item)
                journal.mark_running(item.id, worker)
                in_flight[item.id] = item
                reporter.started(item, worker)
            for item, outcome in engine.wait():
                del in_flight[item.id]
                if isinstance(outcome, WorkerLost):
                    lost[item.id] += 1
                    if lost[item.id] < max_attempts:
                        journal.mark_pending(item.id, f"worker {outcome.worker} lost: {outcome.reason}")
                        clear_name(out_dir, item.name)
                        queue.appendleft(item)
                        counts.retried += 1
                        reporter.retrying(item, outcome, lost[item.id] + 1)
                        continue
                    outcome = ItemResult(item.id, item.source, False, worker=outcome.worker,
                                         error=f"{item.source.name}: its worker was lost {lost[item.id]} times "
                                               f"(last: {outcome.reason})")
                    clear_name(out_dir, item.name)
                if outcome.ok:
                    journal.mark_done(item.id, outcome.outputs, seconds=outcome.seconds, frame=outcome.frame,
                                      key_frame=outcome.key_frame, restorer=outcome.restorer, notes=outcome.notes,
                                      worker=outcome.worker)
                    if outcome.kept_key_photo:
                        counts.kept += 1
                    else:
                        counts.restored += 1
                else:
                    journal.mark_failed(item.id, outcome.error, seconds=outcome.seconds, frame=outcome.frame,
                                        key_frame=outcome.key_frame, worker=outcome.worker)
                    counts.failed += 1
                reporter.finished(item, outcome)
    except BaseException:
        engine.stop()
        for item in in_flight.values():
            journal.mark_pending(item.id, "interrupted")
        raise
    engine.close()
    return counts


# ------------------------------------------------------------------------------------------------ summary


def percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    p50, p90, p99 = np.percentile(np.asarray(values, dtype=float), [50, 90, 99])
    return {"count": len(values), "mean": round(float(np.mean(values)), 3), "p50": round(float(p50), 3),
            "p90": round(float(p90), 3), "p99": round(float(p99), 3), "max": round(float(max(values)), 3)}


def failure(path: Path, error: str) -> dict:
    """A failure as the JSON summaries list it: the file's name (as the error names it), its path (two folders may
    hold photos of one name) and the one-line error."""
    return {"input": Path(path).name, "path": str(path), "error": error}


def summary(journal: Journal, ids: list[int], *, wall_s: float, triaged: Triage, counts: RunCounts,
            unmatched: list = ()) -> dict:
    """The batch in numbers: states of this batch's photos, what this run did, the time per photo
    (``per_photo``: each done photo's time on its worker, in this run or an earlier one) and the failures:
    ``unmatched`` inputs (core.batch.inputs.Unmatched) first, then the photos recorded as failed."""
    mine = set(ids)
    rows = [row for row in journal.rows() if row.id in mine]
    states = Counter(row.state for row in rows)
    times = [row.seconds for row in rows if row.state == "done" and row.seconds is not None]
    return {
        "output_folder": str(journal.folder), "journal": str(journal.path),
        "photos": len(rows),
        "states": {state: states.get(state, 0) for state in ("done", "failed", "pending", "running")},
        "this_run": {"restored": counts.restored, "key_photo_is_best": counts.kept, "failed": counts.failed,
                     "skipped_done": len(triaged.done),
                     "skipped_failed": len(triaged.failed), "redone": len(triaged.redo),
                     "worker_losses_retried": counts.retried, "unmatched_inputs": len(unmatched)},
        "seconds": {"wall": round(wall_s, 3), "per_photo": percentiles(times)},
        "photos_per_minute": round(counts.restored / wall_s * 60, 2) if wall_s > 0 else 0.0,
        "failures": [failure(u.input, u.error) for u in unmatched]
                    + [failure(row.source, row.error) for row in rows if row.state == "failed"],
    }
