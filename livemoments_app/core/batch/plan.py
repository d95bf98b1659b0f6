"""A batch's plan: the settings every photo is restored with, and per photo the output name reserved for it.

Output names are reserved when a photo enters the journal, without opening it: ``<stem>_LM`` (a Pixel
``PXL_….MP.jpg`` written back keeps ``.MP`` last: ``PXL_…_LM.MP``), then ``_LM_2``, ``_LM_3``... when a file of
that name (any extension) is already in the output folder or another photo of the batch has it. The extension
is the exporter's choice (the key photo's format, PNG for 16-bit...). A name stays with its photo for the life
of the journal, so a photo redone after a crash or a damaged output lands under the same name.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from livemoments_app.core.errors import RestoreError
from livemoments_app.core.export.files import MAX_TRIES, SUFFIX
from livemoments_app.core.pipeline import RESTORERS, RestoreJob

FRAME_KINDS = ("index", "time", "offset", "key", "best")


@dataclass(frozen=True)
class FrameChoice:
    """Which frame of each clip to restore: a frame index, a time, an offset from the key photo, the key frame,
    or the best suggested moment."""

    kind: str
    value: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FRAME_KINDS:
            raise RestoreError(f"unknown frame choice {self.kind!r} (known: {', '.join(FRAME_KINDS)})")
        if (self.value is None) != (self.kind in ("key", "best")):
            raise RestoreError(f"the frame choice {self.kind!r} " + ("takes no value" if self.value is not None
                                                                      else "needs a value"))

    def describe(self) -> str:
        if self.kind == "index":
            return f"frame {int(self.value)}"
        if self.kind == "time":
            return f"{self.value:g} s into the clip"
        if self.kind == "offset":
            return f"{self.value:+g} s from the key photo"
        return {"key": "the key frame", "best": "the best moment"}[self.kind]

    def job_fields(self) -> dict:
        """The RestoreJob fields that say this."""
        if self.kind == "index":
            return {"frame_index": int(self.value)}
        if self.kind == "time":
            return {"time_s": float(self.value)}
        if self.kind == "offset":
            return {"offset_s": float(self.value)}
        return {"moment": self.kind}


@dataclass(frozen=True)
class BatchSettings:
    """How every photo of a batch is restored and written. ``restorer`` is a concrete name ("auto" is resolved
    once by the driver, so one batch never mixes restorers across machines)."""

    frame: FrameChoice
    restorer: str = "classic"
    scale: float | None = None
    format: str = "auto"
    write_back: bool = False
    device: str = "auto"
    model_dirs: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.restorer not in RESTORERS or self.restorer == "auto":
            raise RestoreError(f"a batch needs a restorer by name ({', '.join(RESTORERS[1:])}), "
                               f"got {self.restorer!r}")
        if self.scale is not None and not (0.05 <= self.scale <= 16):
            raise RestoreError(f"the output scale must be between 0.05 and 16, got {self.scale}")

    def identity(self) -> dict:
        """What decides the outputs; a journal made with another identity is not resumed with these settings.
        Where the work runs (device, model folders, engine, workers) is left out: it does not change what a
        photo's result means, and a batch may move to other machines between runs."""
        return {"frame": asdict(self.frame), "restorer": self.restorer, "scale": self.scale, "format": self.format,
                "write_back": self.write_back}

    def job(self, source: Path) -> RestoreJob:
        return RestoreJob(path=Path(source), restorer=self.restorer, device=self.device, scale=self.scale,
                          model_dirs=list(self.model_dirs) or None, **self.frame.job_fields())

    def export_options(self, suffix: str):
        from livemoments_app.core.export import ExportOptions

        return ExportOptions(format=self.format, suffix=suffix)


def describe_identity(identity: dict) -> dict[str, str]:
    """An identity (as stored in a journal) in words, field by field."""
    frame = identity.get("frame") or {}
    try:
        frame_text = FrameChoice(**frame).describe()
    except (TypeError, RestoreError):
        frame_text = str(frame)
    return {"frame": frame_text, "restorer": str(identity.get("restorer")),
            "scale": "the key photo's" if identity.get("scale") is None else f"{identity['scale']:g}",
            "format": str(identity.get("format")),
            "write_back": "yes" if identity.get("write_back") else "no"}


@dataclass(frozen=True)
class PlanItem:
    """One photo of the batch: its journal row, the photo, and the output name reserved for it."""

    id: int
    source: Path
    name: str           # the output's file name without its extension, e.g. IMG_0001_LM or PXL_1_LM.MP
    suffix: str         # what the exporter appends to the photo's stem to make ``name`` (_LM, _LM_2...)


def output_name(source: Path, suffix: str, write_back: bool) -> str:
    """The output's file name without extension, as the exporters form it from the photo's name and ``suffix``."""
    if write_back:
        from livemoments_app.core.export.writeback_motion import output_stem

        stem, tail = output_stem(Path(source), suffix)
        return stem + tail
    return Path(source).stem + suffix


def names_in(folder: Path, leaving_out: set[str] = frozenset()) -> set[str]:
    """The file names (without their last extension, case-folded) already in ``folder``, but for the files named
    in ``leaving_out`` (about to be removed)."""
    try:
        return {Path(entry.name).stem.casefold() for entry in os.scandir(folder) if entry.name not in leaving_out}
    except FileNotFoundError:
        return set()


def reserve_names(sources: Iterable[Path], write_back: bool, taken: set[str]) -> list[tuple[str, str]]:
    """(name, suffix) for each source, none of them in ``taken`` (case-folded, updated) nor equal to another's."""
    reserved = []
    for source in sources:
        for n in range(1, MAX_TRIES):
            suffix = SUFFIX if n == 1 else f"{SUFFIX}_{n}"
            name = output_name(source, suffix, write_back)
            if name.casefold() not in taken:
                taken.add(name.casefold())
                reserved.append((name, suffix))
                break
        else:
            raise RestoreError(f"no free output name like {output_name(source, SUFFIX, write_back)}", source)
    return reserved
