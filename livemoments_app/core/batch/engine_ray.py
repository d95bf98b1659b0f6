"""The Ray engine: photos restored by workers on a Ray cluster (or a Ray instance started in this process).

Imported only when a batch asks for it: Ray is the optional ``cluster`` extra, and the app never loads it.

* One actor per worker slot, placed by Ray: ``num_gpus=1`` each for the diffusion restorer (one per GPU of the
  cluster), ``cpus_per_photo`` CPUs each for the classic one. An actor makes its restorer once, so the diffusion
  model is loaded once per GPU, not once per photo. Each photo is one task on an idle actor (an actor method
  call), running :func:`~livemoments_app.core.batch.item.restore_item` -- the local engine's code, unchanged.
* Photos are read and written through paths: the inputs and the output folder must be a folder every machine
  sees at the same path (a shared folder). Each actor checks on start that it sees the batch's journal there.
* A worker that dies (killed, out of memory, its machine gone) loses only the photo it had; the driver is told
  (:class:`~livemoments_app.core.batch.item.WorkerLost`), retries the photo a bounded number of times on
  whichever worker is free, and asks Ray for a fresh actor in the dead one's place.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray
import ray.exceptions

from livemoments_app import __version__
from livemoments_app.core.batch.item import ItemResult, WorkerLost, restore_item, worker_label
from livemoments_app.core.batch.journal import JOURNAL_NAME
from livemoments_app.core.batch.plan import BatchSettings, PlanItem
from livemoments_app.core.errors import RestoreError

# What a Ray instance started here for one batch needs: the objects are photo descriptions and results (bytes),
# so the smallest object store Ray accepts is plenty.
LOCAL_OBJECT_STORE = 80 * 2**20


class _Worker:
    """A worker slot: its restorer (and model), made once, restoring photo after photo."""

    def __init__(self, settings: BatchSettings, out_dir: str):
        from livemoments_app.core.pipeline import create_restorer

        self.settings, self.out_dir, self.label = settings, Path(out_dir), worker_label()
        self.restorer, self.problem = None, ""
        if not (self.out_dir / JOURNAL_NAME).is_file():
            self.problem = (f"{self.label} does not see the output folder {out_dir}: it must be a folder every "
                            f"machine of the cluster sees at the same path")
            return
        try:
            self.restorer = create_restorer(settings.restorer, settings.device, list(settings.model_dirs) or None)
        except Exception as exc:  # noqa: BLE001 - reported to the driver, which decides
            self.problem = f"{self.label}: {exc}"

    def hello(self) -> tuple[str, str, str]:
        return self.label, __version__, self.problem

    def run(self, item: PlanItem) -> ItemResult:
        if not Path(item.source).exists():
            return ItemResult(item.id, item.source, False, worker=self.label,
                              error=f"{Path(item.source).name}: not found on {self.label}: the photos must be in a "
                                    f"folder every machine of the cluster sees at the same path")
        return restore_item(item, self.settings, self.out_dir, restorer=self.restorer, worker=self.label)


def _reason(exc: BaseException) -> str:
    """One line out of a Ray error's message: the Python error at its end when there is one (an actor that could
    not start: "ModuleNotFoundError: ..."), else its first line ("The actor died unexpectedly ...")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if line.split(":", 1)[0].endswith(("Error", "Exception"))]
    return (errors or lines or [type(exc).__name__])[-1 if errors else 0]


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, cpus_per_photo: float = 1.0):
        self.address = address
        self.workers = workers
        self.cpus_per_photo = cpus_per_photo
        self._owned = False
        self._starting: dict = {}         # hello ref -> actor
        self._idle: list = []             # (actor, label)
        self._running: dict = {}          # run ref -> (item, actor, label)
        self._problems: list[str] = []
        self._notify = lambda text: None

    # ------------------------------------------------------------------------------------------ connection

    def connect(self) -> None:
        if ray.is_initialized():
            return                      # the caller's Ray (a test session, a notebook): used, left running
        try:
            if self.address:
                ray.init(address=self.address, include_dashboard=False)
            else:
                # Ray's start-up notes (where its logs go, the token it made) concern a cluster, not this one-off.
                ray.init(include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE, logging_level=logging.ERROR)
        except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise RestoreError(f"cannot connect to {where}: {_reason(exc)}") from None
        self._owned = True

    def resolve_restorer(self, requested: str, model_dirs: list[str] | None = None) -> str:
        """"auto" on a cluster: LiveMoments when the cluster has a GPU, else classic (decided once, here, so one
        batch never mixes restorers)."""
        if requested != "auto":
            return requested
        self.connect()
        return "livemoments" if ray.cluster_resources().get("GPU", 0) >= 1 else "classic"

    # ------------------------------------------------------------------------------------------ workers

    def start(self, settings: BatchSettings, out_dir: Path, notify=None) -> None:
        self.connect()
        if notify is not None:
            self._notify = notify
        resources = ray.cluster_resources()
        gpus = 1 if settings.restorer == "livemoments" and settings.device != "cpu" else 0
        if gpus and resources.get("GPU", 0) < 1:
            raise RestoreError("the Ray cluster has no GPU for the LiveMoments restorer (add GPU workers, or use "
                               "the classic restorer)")
        largest = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")), default=0)
        if not gpus and self.cpus_per_photo > largest:
            raise RestoreError(f"no machine of the Ray cluster has {self.cpus_per_photo:g} CPUs for one photo (the "
                               f"largest has {largest:g}): lower --cpus-per-photo")
        if self.workers is not None:
            count = self.workers
        elif gpus:
            count = int(resources["GPU"])
        else:
            count = max(1, int(resources.get("CPU", 1) // self.cpus_per_photo))
        self._actor_class = ray.remote(num_cpus=self.cpus_per_photo if not gpus else 1, num_gpus=gpus,
                                       max_restarts=0)(_Worker)
        # Absolute, symlinks kept: the workers must see the folder at the path this machine names it by.
        self._settings, self._out_dir = settings, os.path.abspath(out_dir)
        for _ in range(count):
            self._spawn()

    def _spawn(self) -> None:
        actor = self._actor_class.remote(self._settings, self._out_dir)
        self._starting[actor.hello.remote()] = actor

    def has_room(self) -> bool:
        return bool(self._idle)

    def submit(self, item: PlanItem) -> str:
        actor, label = self._idle.pop()
        self._running[actor.run.remote(item)] = (item, actor, label)
        return label

    def wait(self) -> list[tuple[PlanItem, ItemResult | WorkerLost]]:
        """Photos finished (or lost with their worker) since the last call; may be empty when only a worker
        became ready."""
        refs = list(self._starting) + list(self._running)
        if not refs:
            raise RestoreError("no Ray worker could start: " + ("; ".join(dict.fromkeys(self._problems))
                                                                 or "the cluster has no room for one"))
        ray.wait(refs, num_returns=1)                                   # until something happens
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)     # then all that did
        finished = []
        for ref in ready:
            if ref in self._starting:
                self._started(ref, self._starting.pop(ref))
                continue
            item, actor, label = self._running.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:      # raised by our code: the photo failed, not the worker
                self._idle.append((actor, label))
                finished.append((item, ItemResult(item.id, item.source, False, worker=label,
                                                  error=f"{Path(item.source).name}: {_reason(exc)}")))
                continue
            except ray.exceptions.RayError as exc:          # the worker died under the photo (the driver says so)
                ray.kill(actor)
                self._spawn()
                finished.append((item, WorkerLost(label, _reason(exc))))
                continue
            self._idle.append((actor, label))
            finished.append((item, result))
        if not (self._idle or self._running or self._starting):
            raise RestoreError("no Ray worker could start: " + "; ".join(dict.fromkeys(self._problems)))
        return finished

    def _started(self, ref, actor) -> None:
        try:
            label, version, problem = ray.get(ref)
        except ray.exceptions.RayError as exc:
            label, version, problem = "a worker", __version__, _reason(exc)
        if not problem and version != __version__:
            problem = (f"{label} runs LiveMoments {version}, this machine {__version__}: install the same version "
                       f"on every machine")
        if problem:
            ray.kill(actor)
            self._problems.append(problem)
            self._notify(f"a worker could not start: {problem}")
            return
        self._idle.append((actor, label))

    # ------------------------------------------------------------------------------------------ the end

    def stop(self) -> None:
        self.close()

    def close(self) -> None:
        for actor in [a for a, _ in self._idle] + [a for _, a, _ in self._running.values()] + list(
                self._starting.values()):
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._idle.clear()
        self._running.clear()
        self._starting.clear()
        if self._owned and ray.is_initialized():
            ray.shutdown()
            self._owned = False
