"""The local engine: photos restored by a pool of threads in this process (``--jobs N`` of them).

Threads, not processes: the heavy parts (OpenCV, the x265/libjpeg encoders, torch) release the GIL, one
restorer and its loaded model serve every thread, and nothing is pickled. The driver keeps at most ``jobs``
photos in the pool, so a photo marked running in the journal is one a thread is working on.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from livemoments_app.core.batch.item import ItemResult, restore_item, worker_label
from livemoments_app.core.batch.plan import BatchSettings, PlanItem
from livemoments_app.core.jobs import CancelToken, Progress


class LocalEngine:
    name = "local"

    def __init__(self, jobs: int = 1):
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[Future, PlanItem] = {}
        self._token = CancelToken()

    def resolve_restorer(self, requested: str, model_dirs: list[str] | None = None) -> str:
        """"auto" made concrete for this machine (LiveMoments with a GPU and weights, else classic)."""
        if requested != "auto":
            return requested
        from livemoments_app.core.restore.registry import choose_auto

        return choose_auto(model_dirs)

    def start(self, settings: BatchSettings, out_dir: Path, notify=None) -> None:
        from livemoments_app.core.pipeline import create_restorer

        # Made here, before any photo: a restorer that cannot run stops the batch with its reason at once.
        self._restorer = create_restorer(settings.restorer, settings.device, list(settings.model_dirs) or None)
        self._settings, self._out_dir = settings, Path(out_dir)
        self._label = worker_label()
        self._pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="livemoments-batch")

    def has_room(self) -> bool:
        return len(self._futures) < self.jobs

    def submit(self, item: PlanItem) -> str:
        future = self._pool.submit(restore_item, item, self._settings, self._out_dir, restorer=self._restorer,
                                   progress=Progress(token=self._token), worker=self._label)
        self._futures[future] = item
        return self._label

    def wait(self) -> list[tuple[PlanItem, ItemResult]]:
        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        return [(self._futures.pop(future), future.result()) for future in done]

    def stop(self) -> None:
        """Interrupted: photos not started are dropped, running ones stop at their next step."""
        self._token.cancel()
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()
