"""Scoring every frame of a clip: one sequential pass over the frames, then the clip-relative parts and reasons.

1. Every frame is decoded once, scaled while converting (``FrameSource.iter_frames(max_side=...)``), and measured:
   sharpness tiles, exposure, faces; a small copy is kept for step 3 (~0.3 MB a frame). (FFmpeg's HEVC and H.264
   decoders cannot decode at reduced size -- ``lowres`` is for MPEG-4/MJPEG only -- so the full-size decode, ~1 s
   of CPU for 53 frames at 1440x1920, is the floor; skipping the loop filter would save a fifth but adds the block
   edges the sharpness measure would read as detail.)
2. The key photo's fit to the key-time frame and its horizon are measured once.
3. Each frame's flow against the key frame gives its restorable share and its rotation.
4. The measurements become parts (relative to the clip where that is what matters), a score and reasons.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

import numpy as np

from livemoments_app.core.errors import DecodeError
from livemoments_app.core.jobs import Progress
from livemoments_app.core.moments import weights as W
from livemoments_app.core.moments.model import FrameScore, Suggestions

if TYPE_CHECKING:
    from livemoments_app.core.align import Alignment
    from livemoments_app.core.livephoto.model import LivePhoto


@dataclass(frozen=True)
class MomentOptions:
    work_side: int = 960          # long side frames are decoded at for sharpness and faces
    faces: bool = True            # look for faces (False: the faces part is left out, with a note)


@dataclass
class Measurements:
    """Raw per-frame measurements of one clip (what :func:`judge` turns into scores; the benchmark refits on it)."""

    times: np.ndarray
    key_index: int
    tiles: np.ndarray                                  # N x R x C sharpness levels
    subject: np.ndarray                                # N: sharpness of the main subject (NaN: none found)
    clipped: np.ndarray
    crushed: np.ndarray
    stops: np.ndarray
    share: np.ndarray                                  # restorable share (within the key photo's coverage)
    rotation: np.ndarray                               # degrees against the key frame (NaN: unknown)
    horizon: float | None                              # the key photo's horizon angle, when reliable
    key_share: float
    faces: list | None = None                          # per frame: faces.FaceJudgement or None
    notes: list[str] = field(default_factory=list)


def score_clip(live: "LivePhoto", progress: Progress | None = None, *,
               alignments: "Mapping[int, Alignment] | None" = None,
               options: MomentOptions | None = None) -> Suggestions:
    t0 = time.perf_counter()
    m = measure_clip(live, progress, alignments=alignments, options=options)
    out = judge(m)
    out.seconds = time.perf_counter() - t0
    return out


def measure_clip(live: "LivePhoto", progress: Progress | None = None, *,
                 alignments: "Mapping[int, Alignment] | None" = None,
                 options: MomentOptions | None = None) -> Measurements:
    import cv2

    from livemoments_app.core.moments import exposure, faces, horizon, restorability, sharpness

    opts = options or MomentOptions()
    progress = progress or Progress()
    clip = live.clip
    n = clip.frame_count
    key_index = int(live.key_frame_index)
    notes: list[str] = []
    analyser = None
    if opts.faces:
        try:
            analyser = faces.load_analyser()
        except faces.FacesUnavailable as exc:
            notes.append(f"faces not scored: {exc}")
    else:
        notes.append("faces not scored: turned off")

    # 1. one pass over the frames; once the key frame has been read (2), each frame's flow against it (3) runs on
    # a worker thread while decoding goes on (OpenCV releases the GIL: the two cores share the work).
    progress.set(0.0, "Scoring the frames")
    tiles: list[np.ndarray] = []
    stats = []
    small: list[np.ndarray] = []
    observations: list[list] = []
    share = np.zeros(n)
    rotation = np.full(n, np.nan)
    pending: dict[int, Future] = {}
    key_state: dict = {}
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moments")
    grid = 1

    def submit(i: int) -> None:
        if i != key_index:
            pending[i] = pool.submit(restorability.frame_motion, small[i], small[key_index], key_state["valid"],
                                     key_state["level"] is not None)

    try:
        seen = 0
        for idx, rgb in clip.iter_frames(max_side=opts.work_side):
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            energy = sharpness.laplacian_energy(gray)
            tiles.append(sharpness.tile_levels(energy))
            lo = cv2.resize(rgb, _scaled_size(rgb.shape[:2], restorability.FLOW_SIDE)[::-1],
                            interpolation=cv2.INTER_AREA)
            small.append(lo)
            stats.append(exposure.measure(lo))
            if analyser is not None:
                if idx == 0:
                    # small faces need the detector to look at crops (a few ms each): the finest grid that finds
                    # more faces in the first frame than a coarser one is used for every frame
                    best = []
                    for g in faces.GRIDS:
                        found = analyser.analyse(rgb, grid=g)
                        if len(found) > len(best):
                            best, grid = found, g
                    found = best
                else:
                    found = analyser.analyse(rgb, grid=grid)
                for face in found:
                    face.sharpness = sharpness.region_level(energy, face.box_px)
                observations.append(found)
            if idx == key_index:
                # 2. the key photo: how well it fits the key frame, and its horizon
                key_share, key_valid, note = restorability.key_coverage(live.still.pixels, lo)
                if note:
                    notes.append(note)
                key_state.update(share=key_share, valid=key_valid,
                                 level=horizon.horizon_angle(cv2.cvtColor(lo, cv2.COLOR_RGB2GRAY)))
                for i in range(idx):
                    submit(i)
            elif key_state:
                submit(idx)
            seen += 1
            progress.set(0.8 * seen / n, "Scoring the frames")
        if seen != n or not key_state:
            raise DecodeError(f"the clip gave {seen} of its {n} frames", clip.path)
        # 3. collect the flows
        for k, i in enumerate(sorted(pending)):
            mo = pending[i].result()
            share[i], rotation[i] = mo.aligned_share * key_state["share"], mo.rotation_deg
            progress.set(0.8 + 0.2 * (k + 1) / max(1, len(pending)), "Checking what the key photo can restore")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    share[key_index], rotation[key_index] = 1.0, 0.0
    for i, a in (alignments or {}).items():
        if 0 <= i < n and i != key_index:
            share[i] = float(a.aligned_share)

    clipped, crushed, stops = exposure.excess(stats)
    levels = np.stack(tiles)
    judged = faces.judge_clip(observations) if analyser is not None else None
    if judged is not None and all(j is None for j in judged):
        # nothing, or only a face glimpsed in a frame or two (a detector's stray hit): no faces part at all
        notes.append("faces not scored: no face found in the clip")
        judged = None
    subject = np.array([j.sharpness if j is not None else np.nan for j in judged]) if judged else np.full(n, np.nan)
    return Measurements(np.asarray(clip.times, float), key_index, levels, subject, clipped, crushed, stops, share,
                        rotation, key_state["level"], key_state["share"], judged, notes)


def _scaled_size(shape: tuple[int, int], side: int) -> tuple[int, int]:
    h, w = shape
    s = min(1.0, side / max(h, w))
    return max(8, int(round(h * s))), max(8, int(round(w * s)))


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def judge(m: Measurements, weights: dict[str, float] | None = None) -> Suggestions:
    """Parts, score and reasons of every frame from the clip's measurements (``weights``: other weights than
    :data:`~livemoments_app.core.moments.weights.WEIGHTS`, for the benchmark's fit)."""
    from livemoments_app.core.moments import sharpness

    n = len(m.times)
    whole, tile = sharpness.relative_sharpness(m.tiles)
    subj = m.subject
    subj_ratio = subj / np.nanmax(subj) if np.isfinite(subj).any() else np.full(n, np.nan)
    key_t = float(m.times[m.key_index])
    frames = []
    for i in range(n):
        sharp_ratio = 0.5 * whole[i] + 0.5 * tile[i]
        if np.isfinite(subj_ratio[i]):
            sharp_ratio = 0.5 * sharp_ratio + 0.5 * float(subj_ratio[i])
        parts = {"sharpness": _clip01(sharp_ratio) ** W.SHARPNESS_GAMMA}
        face = m.faces[i] if m.faces is not None else None
        if m.faces is not None:
            parts["faces"] = face.part if face is not None else 0.0
        dt = float(m.times[i]) - key_t
        time_factor = 1.0 - W.TIME_COST * min(1.0, abs(dt) / W.TIME_FULL_S)
        parts["restorability"] = 1.0 if i == m.key_index else _clip01(m.share[i] * time_factor)
        parts["exposure"] = _clip01(1.0 - m.clipped[i] / W.CLIPPED_FULL - m.crushed[i] / W.CRUSHED_FULL
                                    - max(0.0, abs(m.stops[i]) - W.STOPS_FREE) / W.STOPS_FULL)
        tilt = float("nan")
        if m.horizon is not None and np.isfinite(m.rotation[i]):
            tilt = m.horizon + float(m.rotation[i])
            parts["framing"] = _clip01(1.0 - max(0.0, abs(tilt) - W.TILT_FREE_DEG) / W.TILT_FULL_DEG)
        details = {"sharpness_ratio": float(sharp_ratio), "restorable_share": float(m.share[i]),
                   "clipped_excess": float(m.clipped[i]), "crushed_excess": float(m.crushed[i]),
                   "level_stops": float(m.stops[i]), "seconds_from_key": dt}
        if math.isfinite(tilt):
            details["tilt_deg"] = tilt
        if face is not None:
            details.update(face.details())
        score = W.combine(parts, weights)
        reasons = _reasons(i, m, parts, details, face)
        frames.append(FrameScore(i, float(m.times[i]), score, parts, reasons, i == m.key_index, details))
    return Suggestions(frames, list(m.notes), m.key_index)


def _reasons(i: int, m: Measurements, parts: dict[str, float], details: dict[str, float], face) -> list[str]:
    """Sentences for a person, most telling first: what is wrong with the frame, then what is good about it."""
    bad: list[tuple[float, str]] = []
    good: list[tuple[float, str]] = []
    if i == m.key_index:
        good.append((2.0, "the key photo itself: nothing to restore"))
    neutral: list[str] = []
    ratio = details["sharpness_ratio"]
    if ratio < 0.8:
        bad.append((1.0 - ratio, f"blurred: {ratio:.0%} as sharp as the clip's sharpest"))
    elif ratio >= 0.95:
        good.append((ratio - 0.5, "among the clip's sharpest frames"))
    else:
        neutral.append(f"{ratio:.0%} as sharp as the clip's sharpest frame")
    if face is not None:
        for severity, text in face.reasons():
            (bad if severity > 0 else good).append((abs(severity), text))
    if i != m.key_index:
        share = parts["restorability"]
        dt = details["seconds_from_key"]
        when = f"{abs(dt):.1f} s {'before' if dt < 0 else 'after'} it"
        if share < 0.5:
            bad.append((0.6 - share, f"only {m.share[i]:.0%} restorable from the key photo, {when}"))
        elif share >= 0.8:
            good.append((share - 0.6, f"{m.share[i]:.0%} restorable from the key photo, {when}"))
        else:
            neutral.append(f"{m.share[i]:.0%} restorable from the key photo, {when}")
    if details["clipped_excess"] > 0.02:
        bad.append((details["clipped_excess"] * 5, f"highlights clipped ({details['clipped_excess']:.0%} more of the "
                                                    "frame than the clip's best)"))
    if details["crushed_excess"] > 0.04:
        bad.append((details["crushed_excess"] * 3, f"shadows crushed ({details['crushed_excess']:.0%} more of the "
                                                   "frame than the clip's best)"))
    stops = details["level_stops"]
    if abs(stops) > 0.35:
        bad.append((abs(stops) / 2, f"{abs(stops):.1f} stops {'brighter' if stops > 0 else 'darker'} than the frames "
                                    "around it"))
    tilt = details.get("tilt_deg")
    if tilt is not None and abs(tilt) > 1.5:
        bad.append((abs(tilt) / 10, f"tilted {abs(tilt):.1f}° from the key photo's horizon"))
    bad.sort(key=lambda t: -t[0])
    good.sort(key=lambda t: -t[0])
    return [t for _, t in bad] + [t for _, t in good] + neutral
