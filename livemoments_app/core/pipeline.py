"""One photo from start to finish: open → pick the frame → align → restore → write.

The one place this sequence lives: the CLI (one photo and batches), both batch engines (a Ray worker runs exactly
this code) and the app's restore and export view-models call it. Nothing here parses arguments; callers describe
the work as a :class:`RestoreJob` (or call :func:`restore_frame` / :func:`write_result` with what they hold).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from livemoments_app.core.errors import LivePhotoError, RestoreError, UnreadableFileError
from livemoments_app.core.jobs import Progress

RESTORERS = ("auto", "classic", "livemoments")
DEVICES = ("auto", "cpu", "cuda", "mps")
# Frames named by what they are rather than where: the key photo's own moment, and the best suggested moment
# (core.moments' top-ranked frame).
MOMENTS = ("key", "best")
KEY_PHOTO_IS_BEST = "the key photo is already the best moment"


class KeyPhotoIsBest(Exception):
    """The best moment was asked for, and it is the key photo's own: the key photo is that moment at full quality,
    and its frame restored from the clip could only come out worse, so nothing is restored or written (as the
    library's restore queue does). Not a failure."""

    def __init__(self, path: Path | None, frame_index: int):
        super().__init__(KEY_PHOTO_IS_BEST)
        self.path = path
        self.frame_index = frame_index


@dataclass
class RestoreJob:
    """One restoration: a Live Photo and the frame to restore (by index, time, offset from the key photo or a
    moment: "key" or "best"), or a plain reference image and a plain target image."""

    path: Path | None = None
    partner: Path | None = None
    time_s: float | None = None
    frame_index: int | None = None
    offset_s: float | None = None       # seconds from the key photo
    moment: str | None = None           # one of MOMENTS
    reference: Path | None = None
    target: Path | None = None
    restorer: str = "auto"
    device: str = "auto"
    scale: float | None = None
    model_dirs: list[str] | None = None
    align_options: object | None = None     # core.align.AlignOptions; None: the aligner's defaults
    hdr: bool = True                        # make the result's HDR gain map when the key photo has one

    def check(self) -> None:
        if self.reference is not None or self.target is not None:
            if self.path is not None:
                raise RestoreError("give either a Live Photo or a reference and a target image, not both")
            if self.reference is None or self.target is None:
                raise RestoreError("restoring a plain image needs both a reference and a target image")
            if self._frame_choices():
                raise RestoreError("a frame time or index applies to a Live Photo, not to a plain target image")
        else:
            if self.path is None:
                raise RestoreError("give a Live Photo, or a reference and a target image")
            if not self._frame_choices():
                raise RestoreError("say which frame to restore: a time, a frame index, an offset from the key "
                                   "photo, or the key frame")
            if len(self._frame_choices()) > 1:
                raise RestoreError("give one frame choice: a time, a frame index, an offset or a moment")
        if self.moment is not None and self.moment not in MOMENTS:
            raise RestoreError(f"unknown moment {self.moment!r} (known: {', '.join(MOMENTS)})")
        if self.scale is not None and not (0.05 <= self.scale <= 16):
            raise RestoreError(f"the output scale must be between 0.05 and 16, got {self.scale}")
        if self.restorer not in RESTORERS:
            raise RestoreError(f"unknown restorer {self.restorer!r} (known: {', '.join(RESTORERS)})")

    def _frame_choices(self) -> list[str]:
        given = (("time", self.time_s), ("frame", self.frame_index), ("offset", self.offset_s),
                 ("moment", self.moment))
        return [name for name, value in given if value is not None]


@dataclass
class RestoreOutcome:
    image: Any                          # RestoredImage
    metadata_source: Any                # what export_still takes the metadata from (LivePhoto or StillMetadata)
    frame_index: int | None
    info: dict = field(default_factory=dict)


@dataclass
class Written:
    paths: list[Path]                   # the still first (when one was asked for), then a written-back photo's files
    skipped: list[str]                  # metadata fields that could not be carried over
    hdr: bool = False                   # the still was written with its HDR gain map


def restore_job(job: RestoreJob, progress: Progress, restorer=None) -> RestoreOutcome:
    """Runs one restoration: open, pick the frame, align, restore. Writes nothing. ``restorer``: one already made
    for ``job.restorer`` (a batch worker keeps one, and its loaded model, for all its photos); None: made here."""
    job.check()
    if restorer is None:
        restorer = create_restorer(job.restorer, job.device, job.model_dirs)
    if job.reference is not None:
        return _restore_pair(job, restorer, progress)
    return _restore_live(job, restorer, progress)


def create_restorer(name: str, device: str = "auto", model_dirs: list[str] | None = None):
    """The restorer called ``name`` ("auto" picks the best available). Asked for by name, it must be able to run:
    the reason it cannot is raised rather than silently falling back. The diffusion restorer on an explicit CPU
    device is allowed (slow but possible); missing weights still fail when it starts."""
    from livemoments_app.core.restore import registry

    restorer = registry.create(name, model_dirs or None)
    if name != "auto" and not (name == "livemoments" and device == "cpu"):
        availability = restorer.availability()
        if not availability.ok:
            raise RestoreError(f"the {name} restorer is not available: {availability.reason}")
    return restorer


def restore_frame(live, index: int, restorer, *, alignment=None, device: str = "auto", scale: float | None = None,
                  size: float = 1.0, options: dict | None = None, align_options=None, hdr: bool = True,
                  progress: Progress | None = None):
    """Restores clip frame ``index`` of an open Live Photo with ``restorer`` (aligning first unless
    ``alignment`` is given). The output is the frame's size x ``scale``, or (``scale`` None) ``size`` times the key
    photo's resolution. With ``hdr`` and a key photo that has an HDR gain map, the result gets its own
    (``RestoredImage.gain_map``, :mod:`core.hdr.restored`). Returns (RestoredImage, alignment)."""
    from livemoments_app.core.align import align
    from livemoments_app.core.restore.base import RestoreRequest

    progress = progress or Progress()
    if alignment is None:
        progress.set(0.0, "Aligning the key photo")
        alignment = align(live, index, align_options, progress=progress.sub(0.0, 0.2))
    if scale is None and size != 1.0:
        scale = alignment.default_scale * size
    progress.set(0.2, "Decoding the frame")
    frame = live.clip.frame(index)
    request = RestoreRequest(still=live.still.pixels, frame=frame, alignment=alignment, scale=scale, device=device,
                             options=dict(options or {}))
    hdr = hdr and getattr(live.still, "hdr", None) is not None
    result = restorer.restore(request, progress.sub(0.2, 0.76 if hdr else 0.8))
    if hdr:
        progress.set(0.96, "Making the HDR gain map")
        attach_gain_map(result, live.still, alignment, frame, clip=live.clip, index=index)
    return result, alignment


def attach_gain_map(result, still, alignment, frame, *, clip=None, index: int | None = None) -> None:
    """Gives ``result`` the gain map made from ``still``'s (and the clip's) and says how in ``result.info["hdr"]``."""
    from livemoments_app.core.hdr.restored import gain_map_for

    result.gain_map, info, _parts = gain_map_for(result, still, alignment, frame, clip=clip, index=index)
    result.info["hdr"] = info


def _restore_live(job: RestoreJob, restorer, progress: Progress) -> RestoreOutcome:
    from livemoments_app.core.livephoto import open_live_photo

    progress.set(0.0, "Opening")
    with open_live_photo(job.path, job.partner) as live:
        # The closed LivePhoto still carries the key photo's metadata and the clip's times that export reads.
        return restore_open(live, job, restorer, progress)


def restore_open(live, job: RestoreJob, restorer=None, progress: Progress | None = None) -> RestoreOutcome:
    """:func:`restore_job` on a Live Photo the caller has open already (the library scores it and restores it
    with one opening)."""
    progress = progress or Progress()
    if restorer is None:
        restorer = create_restorer(job.restorer, job.device, job.model_dirs)
    start = 0.3 if job.moment == "best" else 0.05       # scoring the clip takes about as long as aligning
    index = pick_frame(live, job, progress.sub(0.05, start - 0.05))
    result, alignment = restore_frame(live, index, restorer, device=job.device, scale=job.scale,
                                      align_options=job.align_options, hdr=job.hdr,
                                      progress=progress.sub(start, 1.0 - start))
    info = {"frame_index": index, "time_s": float(live.clip.times[index]), "key_time_s": live.key_time_s,
            "key_frame_index": live.key_frame_index,
            "aligned_share": float(getattr(alignment, "aligned_share", float("nan")))}
    return RestoreOutcome(result, live, index, info)


def pick_frame(live, job: RestoreJob, progress: Progress | None = None) -> int:
    """The clip frame ``job`` asks for (an index, a time, an offset from the key photo, the key frame, or the
    best moment: the frame core.moments ranks first). Raises KeyPhotoIsBest when that is the key photo's own."""
    clip = live.clip
    if job.moment == "key":
        return live.key_frame_index
    if job.moment == "best":
        from livemoments_app.core.library import LibraryCache
        from livemoments_app.core.library.best import ranked

        if progress is not None:
            progress.set(0.0, "Finding the best moment")
        # A photo the library or `suggest` ranked is not scored again (a few seconds a photo in a batch).
        cache = LibraryCache()
        try:
            best = ranked(live, cache, progress).best()
        finally:
            cache.close()
        if best is None:
            raise RestoreError("the clip has no frames to rank", job.path)
        if best.is_key:
            raise KeyPhotoIsBest(job.path, best.index)
        return best.index
    if job.moment is not None:
        raise RestoreError(f"unknown moment {job.moment!r}", job.path)
    if job.frame_index is not None:
        if not 0 <= job.frame_index < clip.frame_count:
            raise RestoreError(f"frame {job.frame_index} is outside the clip (0..{clip.frame_count - 1})",
                               job.path)
        return job.frame_index
    if job.offset_s is not None:
        t = live.key_time_s + job.offset_s
        what = f"{job.offset_s:+g} s from the key photo ({live.key_time_s:.3f} s)"
    else:
        t, what = job.time_s, f"{job.time_s:g} s"
    if not -0.5 <= t <= clip.duration_s + 0.5:
        raise RestoreError(f"{what} is outside the clip (0..{clip.duration_s:.3f} s)", job.path)
    return clip.nearest_index(t)


def read_image(path: Path, what: str, *, hdr: bool = True):
    """A plain image file as a Still (upright RGB, metadata kept; with ``hdr``, its gain map found too)."""
    from livemoments_app.core.livephoto.open import find_gain_map
    from livemoments_app.core.livephoto.still import decode_heif, decode_pillow

    if not path.is_file():
        raise UnreadableFileError(f"the {what} does not exist or is not a file", path)
    gain_map = find_gain_map(path) if hdr else None
    if path.suffix.lower() in (".heic", ".heif", ".hif", ".avif"):
        return decode_heif(path, hdr=gain_map)
    return decode_pillow(path, hdr=gain_map)


def _restore_pair(job: RestoreJob, restorer, progress: Progress) -> RestoreOutcome:
    from livemoments_app.core.align import align_pair
    from livemoments_app.core.export import StillMetadata
    from livemoments_app.core.restore.base import RestoreRequest

    progress.set(0.0, "Reading the images")
    still = read_image(job.reference, "reference")
    frame = read_image(job.target, "target", hdr=False).pixels      # only the reference's gain map is used
    if frame.dtype != np.uint8:
        frame = (frame >> 8).astype(np.uint8)
    progress.set(0.05, "Aligning")
    try:
        alignment = align_pair(still.pixels, frame, job.align_options, progress=progress.sub(0.05, 0.2))
    except LivePhotoError as exc:
        raise type(exc)(exc.reason, job.target) from None
    request = RestoreRequest(still=still.pixels, frame=frame, alignment=alignment, scale=job.scale,
                             device=job.device)
    result = restorer.restore(request, progress.sub(0.25, 0.75))
    if job.hdr and getattr(still, "hdr", None) is not None:
        attach_gain_map(result, still, alignment, frame)
    meta = replace(StillMetadata.of(still), source_paths=[job.reference, job.target])
    return RestoreOutcome(result, meta, None, {"aligned_share": float(getattr(alignment, "aligned_share", 0.0))})


def write_result(image, source, target: str | os.PathLike, options=None, *, metadata=None,
                 frame_index: int | None = None, still: bool = True, write_back: bool = False,
                 progress: Progress | None = None) -> Written:
    """Writes a restored image of ``source`` (the LivePhoto, or a StillMetadata for a plain image): the still with
    the key photo's metadata (or ``metadata``, e.g. stripped; ``target`` a file or a folder) and/or, with
    ``write_back``, a new Live Photo / Motion Photo whose key photo is it at clip frame ``frame_index`` (into
    ``target``'s folder). Atomic, never over a source file."""
    from livemoments_app.core.export import ExportOptions, export_still, write_back_result

    options = options or ExportOptions()
    progress = progress or Progress()
    if not (still or write_back):
        raise ValueError("nothing to write: ask for the still, the write-back, or both")
    paths: list[Path] = []
    skipped: list[str] = []
    hdr = False
    span = 0.5 if still and write_back else 1.0
    gain_map = getattr(image, "gain_map", None)      # the restored frame's HDR gain map (core.hdr.restored)
    if still:
        exported = export_still(image, source if metadata is None else metadata, target, options,
                                progress.sub(0.0, span), gain_map=gain_map)
        paths.append(Path(exported.path))
        skipped += list(exported.skipped)
        hdr = bool(exported.hdr)
    if write_back:
        if frame_index is None:
            raise ValueError("writing back needs the clip frame the restored image shows")
        folder = Path(target) if not still or Path(target).is_dir() else Path(target).parent
        written = write_back_result(source, image, frame_index, folder, options,
                                    progress.sub(1.0 - span, span), gain_map=gain_map)
        paths += list(written.paths)
        skipped += [s for s in written.skipped if s not in skipped]
    return Written(paths, skipped, hdr)


def write_outcome(outcome: RestoreOutcome, target: str | os.PathLike, options=None, *, write_back: bool = False,
                  progress: Progress | None = None) -> Written:
    """:func:`write_result` for what :func:`restore_job` returned: the still, or (``write_back``) the new Live
    Photo / Motion Photo alone."""
    return write_result(outcome.image, outcome.metadata_source, target, options, frame_index=outcome.frame_index,
                        still=not write_back, write_back=write_back, progress=progress)
