"""Batch throughput: small synthetic Live Photos, classic restorer, on the local engine (1 and 2 threads) and on
a Ray instance started in this process (2 workers), and the cost of resuming a batch that is already done.

    python -m benchmarks.batch [--photos 50] [--size 320x240] [--no-ray]

The photos are Apple pairs from tests/support/synth (HEIC still twice the clip's size, 12-frame MOV), so one
photo takes well under a second and the whole run a few minutes on 2 cores. Per engine: the wall time of the
batch (engine start included), photos per minute, each photo's time on its worker, and the overhead per photo:
the driver's time from handing a photo over to recording its result, minus the photo's own time on its worker
(scheduling, queues, result transfer, the journal write). Ray's start-up (its instance and the workers' imports)
is reported apart: it is paid once per batch. Resume: the same batch run again, every photo done -- the journal
opened and each output's SHA-256 checked -- in this process and as the whole command in a fresh one.
The baseline is the local engine with one thread, measured in the same run; the machine is shared, so the load
average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import ROOT


class _Timer:
    """Driver-side times of each photo: a Reporter for run_batch, stamped by _Stamped when a photo is handed over."""

    def __init__(self) -> None:
        self.handed: dict[int, float] = {}
        self.overhead: list[float] = []
        self.worker: list[float] = []
        self.first_handed: float | None = None

    def started(self, item, worker) -> None:
        pass

    def finished(self, item, result) -> None:
        self.overhead.append(time.perf_counter() - self.handed[item.id] - result.seconds)
        self.worker.append(result.seconds)

    def retrying(self, item, lost, attempt) -> None:
        pass

    def notice(self, text: str) -> None:
        print(f"  ({text})")


class _Stamped:
    """An engine whose submit() notes the time first (the driver records "running" in the journal after it)."""

    def __init__(self, engine, timer: _Timer) -> None:
        self._engine, self._timer = engine, timer

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def submit(self, item):
        now = time.perf_counter()
        self._timer.handed[item.id] = now
        self._timer.first_handed = self._timer.first_handed or now
        return self._engine.submit(item)


def _batch(photos: list[Path], out: Path, engine, settings) -> dict:
    from livemoments_app.core.batch.runner import item_of, open_batch, run_batch, triage

    out.mkdir()
    timer = _Timer()
    started = time.perf_counter()
    journal, rows = open_batch(out, settings, photos)
    with journal:
        todo = triage(rows, out, journal=journal).todo
        counts = run_batch(journal, [item_of(r) for r in todo], settings, out, _Stamped(engine, timer), timer)
    wall = time.perf_counter() - started
    assert counts.restored == len(photos), counts
    return {"wall": wall, "startup": (timer.first_handed or started) - started,
            "photo": statistics.median(timer.worker), "overhead": statistics.median(timer.overhead)}


def _resume(photos: list[Path], out: Path, settings) -> float:
    from livemoments_app.core.batch.runner import open_batch, triage

    started = time.perf_counter()
    journal, rows = open_batch(out, settings, photos)
    with journal:
        triaged = triage(rows, out, journal=journal)
    assert len(triaged.done) == len(photos) and not triaged.todo
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--size", default="320x240", help="clip size WxH (the still is twice that)")
    parser.add_argument("--no-ray", action="store_true", help="local engine only")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))

    from livemoments_app.core.batch.engine_local import LocalEngine
    from livemoments_app.core.batch.plan import BatchSettings, FrameChoice
    from tests.support.batch import write_photos

    settings = BatchSettings(FrameChoice("index", 3), "classic")
    with tempfile.TemporaryDirectory(prefix="lm-bench-batch-") as tmp:
        tmp = Path(tmp)
        photos = write_photos(tmp / "photos", args.photos, size=(width, height))
        print(f"{args.photos} synthetic Live Photos: {width * 2}x{height * 2} HEIC stills, 12-frame {width}x{height} "
              f"clips; classic restorer; {os.cpu_count()} CPUs")
        runs = {}
        for name, jobs in (("local, 1 thread", 1), ("local, 2 threads", 2)):
            runs[name] = _batch(photos, tmp / f"local{jobs}", LocalEngine(jobs), settings)
        if not args.no_ray:
            try:
                from livemoments_app.core.batch.engine_ray import RayEngine
            except ImportError:
                print("ray is not installed (the 'cluster' extra): Ray skipped")
            else:
                runs["ray (local instance), 2 workers"] = _batch(photos, tmp / "ray", RayEngine(workers=2), settings)
        base = runs["local, 1 thread"]
        print(f"\n{'engine':<34}{'wall s':>8}{'start s':>9}{'photos/min':>12}{'vs 1 thread':>13}"
              f"{'photo s p50':>13}{'overhead/photo':>16}")
        for name, r in runs.items():
            rate = args.photos / r["wall"] * 60
            print(f"{name:<34}{r['wall']:>8.1f}{r['startup']:>9.1f}{rate:>12.1f}"
                  f"{base['wall'] / r['wall']:>12.2f}x{r['photo']:>13.3f}{r['overhead'] * 1000:>13.1f} ms")
        ray_run = runs.get("ray (local instance), 2 workers")
        if ray_run:
            local2 = runs["local, 2 threads"]
            steady, steady_local = (args.photos / (r["wall"] - r["startup"]) * 60 for r in (ray_run, local2))
            print(f"\nRay: overhead per photo {ray_run['overhead'] * 1000:.1f} ms = "
                  f"{ray_run['overhead'] / ray_run['photo'] * 100:.1f} % of a photo's time on its worker; "
                  f"start-up {ray_run['startup']:.1f} s once per batch; after start-up {steady:.1f} photos/min vs "
                  f"{steady_local:.1f} with 2 local threads")

        resume = _resume(photos, tmp / "local2", settings)
        started = time.perf_counter()
        command = subprocess.run([sys.executable, "-m", "livemoments_app", "restore", str(tmp / "photos"), "--frame",
                                  "3", "--restorer", "classic", "--out", str(tmp / "local2"), "--json"],
                                 cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                                 text=True)
        whole = time.perf_counter() - started
        assert command.returncode == 0, command.stderr
        print(f"\nresume of a finished batch: {args.photos} done photos checked (SHA-256) and skipped in "
              f"{resume:.3f} s ({resume / args.photos * 1000:.1f} ms each); the whole command in a fresh process: "
              f"{whole:.1f} s")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
