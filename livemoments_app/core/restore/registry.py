"""Which restorers exist, which can run here (and why not), and the "auto" choice.

Restorers register a factory in :mod:`livemoments_app.core.restore.base`; this module registers the built-in
ones on first use, reports their availability, and builds them. Nothing heavy is imported: the diffusion
restorer's availability check looks for torch/diffusers/weights/accelerator without loading a model.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Sequence

from livemoments_app.core.errors import RestoreError
from livemoments_app.core.restore import base
from livemoments_app.core.restore.base import Availability, Restorer

AUTO = "auto"
CLASSIC = "classic"
LIVEMOMENTS = "livemoments"


class RestorerEntry(NamedTuple):
    name: str
    label: str
    availability: Availability


def _classic_factory() -> Restorer:
    from livemoments_app.core.restore.classic import ClassicRestorer
    return ClassicRestorer()


def ensure_registered() -> None:
    """Registers the built-in restorers (idempotent)."""
    if CLASSIC not in base.names():
        base.register(CLASSIC, _classic_factory)
    if LIVEMOMENTS not in base.names():
        try:
            from livemoments_app.core.restore import livemoments
        except ImportError:
            return
        livemoments.register()


def _model_root(model_dirs: Sequence[str | os.PathLike] | None):
    """ModelPaths for the first folder that holds complete LiveMoments weights (else the first folder)."""
    if not model_dirs:
        return None
    from livemoments_app.core.restore.livemoments.paths import ModelPaths
    candidates = [ModelPaths.from_root(d) for d in model_dirs]
    try:
        from livemoments_app.core.restore.livemoments.files import problems_in
    except ImportError:
        return candidates[0]
    for paths in candidates:
        if not problems_in(paths):
            return paths
    return candidates[0]


def create(name: str, model_dirs: Sequence[str | os.PathLike] | None = None) -> Restorer:
    """The restorer called ``name`` ("auto" resolves with :func:`choose_auto`); ``model_dirs`` are folders to
    look for diffusion weights in (the user's settings)."""
    ensure_registered()
    if name == AUTO:
        name = choose_auto(model_dirs)
    if name == LIVEMOMENTS and model_dirs:
        from livemoments_app.core.restore.livemoments.restorer import LiveMomentsRestorer
        return LiveMomentsRestorer(_model_root(model_dirs))
    try:
        return base.get(name)
    except KeyError:
        known = ", ".join([AUTO, *base.names()])
        raise RestoreError(f"unknown restorer {name!r} (choose one of {known})") from None


def _unavailable(exc: Exception) -> Availability:
    # a broken optional install must not hide the other restorers
    return Availability(False, exc.reason if isinstance(exc, RestoreError) else f"{type(exc).__name__}: {exc}")


def _availability_of(restorer: Restorer) -> Availability:
    try:
        return restorer.availability()
    except Exception as exc:
        return _unavailable(exc)


def availability(name: str, model_dirs: Sequence[str | os.PathLike] | None = None) -> Availability:
    try:
        restorer = create(name, model_dirs)
    except Exception as exc:
        return _unavailable(exc)
    return _availability_of(restorer)


def available_restorers(model_dirs: Sequence[str | os.PathLike] | None = None) -> list[RestorerEntry]:
    """Every registered restorer as (name, label, Availability), the default one first."""
    ensure_registered()
    entries = []
    for name in base.names():
        try:
            restorer = create(name, model_dirs)
        except Exception as exc:
            entries.append(RestorerEntry(name, name, _unavailable(exc)))
            continue
        entries.append(RestorerEntry(name, restorer.label, _availability_of(restorer)))
    entries.sort(key=lambda e: e.name != CLASSIC)
    return entries


def choose_auto(model_dirs: Sequence[str | os.PathLike] | None = None) -> str:
    """"livemoments" when it can run here (weights present and a CUDA/MPS device), else "classic"."""
    ensure_registered()
    if LIVEMOMENTS in base.names() and availability(LIVEMOMENTS, model_dirs).ok:
        return LIVEMOMENTS
    return CLASSIC
