"""The engines a batch can run on, by name. Ray is imported only when its engine is asked for."""

from __future__ import annotations

from livemoments_app.core.errors import RestoreError

ENGINES = ("local", "ray")


def make_engine(name: str, *, jobs: int | None = None, address: str | None = None, cpus_per_photo: float = 1.0):
    """``local``: ``jobs`` threads here (default 1). ``ray``: a Ray cluster at ``address`` ("auto", HOST:PORT;
    None starts a Ray instance in this process) with ``jobs`` workers (default: as many as its GPUs or
    CPUs / ``cpus_per_photo`` allow)."""
    if name == "local":
        from livemoments_app.core.batch.engine_local import LocalEngine

        return LocalEngine(jobs or 1)
    if name == "ray":
        try:
            from livemoments_app.core.batch.engine_ray import RayEngine
        except ImportError as exc:
            if (exc.name or "").split(".")[0] != "ray":
                raise
            raise RestoreError("the Ray engine needs Ray: install the cluster extra "
                               "(pip install \"livemoments[cluster]\")") from None
        return RayEngine(address, jobs, cpus_per_photo)
    raise RestoreError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")
