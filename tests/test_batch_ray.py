"""The Ray engine on one local Ray instance (the session's ``ray_instance``): the same outputs as the local
engine, a worker killed under a photo loses only that attempt, a worker that cannot see the output folder says so."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from livemoments_app.cli import main
from livemoments_app.core.batch.engine_local import LocalEngine
from livemoments_app.core.batch.plan import BatchSettings, FrameChoice
from livemoments_app.core.batch.runner import SilentReporter, item_of, open_batch, run_batch, triage
from livemoments_app.core.errors import RestoreError
from tests.support.batch import write_photos

CLASSIC = BatchSettings(FrameChoice("index", 3), "classic")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    return write_photos(tmp_path_factory.mktemp("photos"), 4)


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def _run(out: Path, photos: list[Path], engine, reporter=None):
    out.mkdir(exist_ok=True)
    journal, rows = open_batch(out, CLASSIC, photos)
    with journal:
        todo = triage(rows, out, journal=journal).todo
        counts = run_batch(journal, [item_of(r) for r in todo], CLASSIC, out, engine, reporter)
        return counts, {r.source.name: r for r in journal.rows()}


def _ray_engine(workers: int | None = None):
    from livemoments_app.core.batch.engine_ray import RayEngine

    return RayEngine(workers=workers)


def test_ray_writes_what_the_local_engine_writes(ray_instance, photos, tmp_path):
    _run(tmp_path / "local", photos, LocalEngine())
    counts, rows = _run(tmp_path / "ray", photos, _ray_engine())
    assert counts.restored == 4
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "local")
    assert {r.restorer for r in rows.values()} == {"classic"}
    assert all(int(r.worker.rsplit(":", 1)[1]) != os.getpid() for r in rows.values())     # done by Ray workers
    assert ray_instance.is_initialized()                    # the engine leaves a Ray it did not start running


class _KillSecond(SilentReporter):
    """Kills the worker the second photo was handed to, right after handing it over."""

    def __init__(self):
        self.handed, self.killed, self.retries = 0, None, []

    def started(self, item, worker):
        self.handed += 1
        if self.handed == 2:
            self.killed = item.source.name
            os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)

    def retrying(self, item, lost, attempt):
        self.retries.append((item.source.name, attempt))


def test_a_worker_killed_under_a_photo_costs_only_that_attempt(ray_instance, photos, tmp_path):
    _run(tmp_path / "local", photos, LocalEngine())
    reporter = _KillSecond()
    counts, rows = _run(tmp_path / "ray", photos, _ray_engine(workers=2), reporter)
    assert reporter.retries == [(reporter.killed, 2)]
    assert counts.restored == 4 and counts.retried == 1 and counts.failed == 0
    assert rows[reporter.killed].attempts == 2
    assert [r.attempts for name, r in rows.items() if name != reporter.killed] == [1, 1, 1]
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "local")
    assert not list((tmp_path / "ray").glob(".*.part"))


class _KillEveryTry(SilentReporter):
    """Kills the worker of one photo every time the photo is handed over: a photo that crashes its worker."""

    def __init__(self, victim: str):
        self.victim, self.tries = victim, 0

    def started(self, item, worker):
        if item.source.name == self.victim:
            self.tries += 1
            os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)


def test_a_photo_that_keeps_losing_its_worker_fails_after_a_bounded_number_of_tries(ray_instance, photos,
                                                                                     tmp_path):
    from livemoments_app.core.batch.runner import MAX_ATTEMPTS

    reporter = _KillEveryTry(photos[1].name)
    counts, rows = _run(tmp_path / "ray", photos[:2], _ray_engine(workers=1), reporter)
    assert reporter.tries == MAX_ATTEMPTS
    assert (counts.restored, counts.failed, counts.retried) == (1, 1, MAX_ATTEMPTS - 1)
    row = rows[photos[1].name]
    assert row.state == "failed" and row.attempts == MAX_ATTEMPTS
    assert f"{photos[1].name}: its worker was lost {MAX_ATTEMPTS} times" in row.error
    assert [p.name for p in (tmp_path / "ray").iterdir() if not p.name.startswith(".")] == ["IMG_0000_LM.HEIC"]


def test_a_worker_that_cannot_see_the_output_folder_says_so(ray_instance, photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    engine = _ray_engine(workers=1)
    engine.start(CLASSIC, out)              # no journal there: as a worker on a machine without the shared folder
    try:
        with pytest.raises(RestoreError, match="no Ray worker could start: .* does not see the output folder"):
            engine.wait()
    finally:
        engine.close()


@pytest.mark.slow
@pytest.mark.samples
def test_ray_and_local_give_the_same_outputs_on_the_samples(ray_instance, samples_dir, tmp_path, capsys):
    command = ["restore", str(samples_dir), "--offset", "-0.2", "--restorer", "classic", "--scale", "0.25"]
    assert main([*command, "--out", str(tmp_path / "local"), "--jobs", "2"]) == 1       # 3 samples are broken
    assert main([*command, "--out", str(tmp_path / "ray"), "--engine", "ray"]) == 1
    local, ray = _outputs(tmp_path / "local"), _outputs(tmp_path / "ray")
    assert len(local) == 4 and ray == local
    assert capsys.readouterr().err.count("3 of 7 failed") == 2


def test_more_cpus_per_photo_than_any_machine_has_is_refused(ray_instance, tmp_path):
    from livemoments_app.core.batch.engine_ray import RayEngine

    engine = RayEngine(cpus_per_photo=64)
    try:
        with pytest.raises(RestoreError, match="no machine of the Ray cluster has 64 CPUs"):
            engine.start(CLASSIC, tmp_path)
    finally:
        engine.close()


def test_the_command_line_runs_on_ray(ray_instance, photos, tmp_path, capsys):
    import json

    command = ["restore", *map(str, photos), "--frame", "3", "--restorer", "classic", "--json"]
    assert main([*command, "--out", str(tmp_path / "local")]) == 0
    assert main([*command, "--out", str(tmp_path / "ray"), "--engine", "ray", "--jobs", "2"]) == 0
    summaries = [json.loads(text) for text in capsys.readouterr().out.replace("}\n{", "}\n\x00{").split("\x00")]
    assert [s["states"]["done"] for s in summaries] == [4, 4]
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "local")
