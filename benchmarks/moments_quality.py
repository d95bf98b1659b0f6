"""Do damaged frames rank below their clean neighbours? ``python -m benchmarks.moments_quality [--fit]``.

A labelled benchmark built from the real samples: each decodable clip is copied with every 4th frame (never the key
frame) replaced by a damaged version of itself -- motion blur (a 6-14 px line at the clip's 1080-1440 px width, any
angle), defocus (a 2-4 px disc) or over-exposure (+0.7 to +1.3 stops in linear light, clipped) in turn -- and
written as a new Live Photo with the project's own Apple pair writer (tests/support/synth.py: a JPEG still with
the ContentIdentifier and a MOV with the still-image-time track, x264). A face clip is made the same way from
scikit-image's astronaut (public domain) with small camera shake, 4 of its frames with the eyes closed by
tests/support/blink.py. Each copy is scored with ``core.moments`` exactly as the app does.

Reported: the AUC over every (damaged frame, clean neighbour) pair -- the share of pairs where the clean frame
scores higher (ties count half), per damage kind and per clip; target >= 0.95. ``--fit`` grid-searches the part
weights on these labels (how core/moments/weights.py was chosen).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks._common import ROOT, SAMPLES, present
from tests.support.damage import damage

NAMES = [
    "apple_iphone15pro_IMG_4394.HEIC",
    "apple_iphone6s_0FFBE909.jpeg",
    "samsung_s22_oneui6_motionphoto.heic",
    "libmphoto_heic_motionphoto_pixel4video.heic",
]
KINDS = ("motion blur", "defocus", "over-exposed")    # tests/support/damage.py's kinds
WORK = Path(os.environ.get("LIVEMOMENTS_BENCH_TMP", "/tmp/livemoments-moments-bench"))
TARGET_AUC = 0.95
# The weights before they were fitted on this benchmark: their AUC says how much the fitted 1.000 owes to the fit.
HAND_SET = {"sharpness": 3.0, "faces": 3.0, "restorability": 1.5, "exposure": 2.0, "framing": 0.5}
VISIBLE_PSNR = 40.0


@dataclass
class Case:
    name: str
    still: Path
    damaged: dict[int, str]          # frame index -> kind


def _write(name: str, frames: list[np.ndarray], still: np.ndarray, key: int, fps: float,
           damaged: dict[int, str]) -> Case:
    from tests.support.synth import write_apple_pair

    folder = WORK / name
    still_path, _mov = write_apple_pair(folder, stem=name, still_format="jpeg", frames=frames, still=still,
                                        key_index=key, fps=fps)
    return Case(name, still_path, damaged)


def real_case(path: Path, seed: int) -> Case | None:
    from livemoments_app.core.errors import LivePhotoError
    from livemoments_app.core.livephoto import open_live_photo

    rng = np.random.default_rng(seed)
    try:
        with open_live_photo(path) as live:
            frames = [np.array(f) for _, f in live.clip.iter_frames()]
            key = live.key_frame_index
            still = np.array(live.still.pixels)
            fps = live.clip.fps_avg or 30.0
    except LivePhotoError as exc:
        print(f"{path.name:<46} not decodable, skipped ({exc})")
        return None
    if still.dtype != np.uint8:
        still = (still >> 8).astype(np.uint8)
    damaged = {}
    invisible = 0
    for k, i in enumerate(i for i in range(3, len(frames) - 1, 4) if i != key):
        kind = KINDS[k % len(KINDS)]
        clean = frames[i]
        frames[i] = damage(clean, kind, rng)
        # damage nobody could see (a blur of a blown-out, textureless frame) is not labelled
        if _psnr(clean, frames[i]) < VISIBLE_PSNR:
            damaged[i] = kind
        else:
            invisible += 1
    if invisible:
        print(f"{path.name:<46} {invisible} damaged frames left unlabelled: the damage is not visible "
              f"(PSNR >= {VISIBLE_PSNR} dB against the clean frame)")
    return _write(path.stem, frames, still, key, fps, damaged)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def face_case(seed: int) -> Case:
    """The astronaut with camera shake, and blinks generated on 4 frames."""
    from skimage import data

    from livemoments_app.core.moments import faces
    from tests.support.blink import close_eyes

    rng = np.random.default_rng(seed)
    photo = cv2.resize(data.astronaut(), (768, 768), interpolation=cv2.INTER_CUBIC)
    analyser = faces.load_analyser()
    n, key = 28, 14
    walk = np.cumsum(rng.normal(0, 1.2, size=(n, 2)), axis=0)
    frames = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((384, 384), float(rng.normal(0, 0.3)), 1.0)
        m[:, 2] += walk[i]
        frames.append(cv2.warpAffine(photo, m, (768, 768), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    damaged = {}
    for i in (4, 10, 19, 24):
        found = analyser.analyse(frames[i])
        frames[i] = close_eyes(frames[i], found[0].landmarks, 1.0)
        damaged[i] = "eyes closed"
    still = cv2.resize(frames[key], (1536, 1536), interpolation=cv2.INTER_CUBIC)
    return _write("astronaut_blinks", frames, still, key, 30.0, damaged)


def pairs(case: Case, n: int) -> list[tuple[int, int, str]]:
    """(damaged, clean neighbour, kind) for every damaged frame and each clean frame next to it."""
    out = []
    for d, kind in case.damaged.items():
        for c in (d - 1, d + 1):
            if 0 <= c < n and c not in case.damaged:
                out.append((d, c, kind))
    return out


def auc(scores: np.ndarray, labelled: list[tuple[int, int, str]]) -> float:
    wins = [1.0 if scores[c] > scores[d] else 0.5 if scores[c] == scores[d] else 0.0 for d, c, _ in labelled]
    return float(np.mean(wins)) if wins else float("nan")


def measure(cases: list[Case]):
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.moments.scoring import measure_clip

    out = []
    for case in cases:
        t0 = time.perf_counter()
        with open_live_photo(case.still) as live:
            m = measure_clip(live)
        out.append((case, m, time.perf_counter() - t0))
    return out


def evaluate(measured, weights=None) -> tuple[float, dict[str, float], dict[str, float], list]:
    from livemoments_app.core.moments.scoring import judge

    all_pairs, by_kind, by_case, rows = [], {}, {}, []
    for case, m, _s in measured:
        scores = np.array([f.score for f in judge(m, weights).frames])
        labelled = pairs(case, len(scores))
        by_case[case.name] = auc(scores, labelled)
        for d, c, kind in labelled:
            all_pairs.append((scores[c] > scores[d]) + 0.5 * (scores[c] == scores[d]))
            by_kind.setdefault(kind, []).append(all_pairs[-1])
            rows.append((case.name, d, c, kind, float(scores[d]), float(scores[c])))
    return (float(np.mean(all_pairs)), {k: float(np.mean(v)) for k, v in by_kind.items()}, by_case, rows)


def fit(measured) -> None:
    from livemoments_app.core.moments import weights as W

    grid = {"sharpness": (1, 2, 3, 4), "faces": (1, 2, 3, 4), "restorability": (0.5, 1, 1.5, 2),
            "exposure": (0.5, 1, 2, 3), "framing": (W.WEIGHTS["framing"],)}
    results = []
    for combo in itertools.product(*grid.values()):
        w = dict(zip(grid, combo))
        total, *_ = evaluate(measured, w)
        spread = float(np.std(np.array(combo[:4]) / np.mean(combo[:4])))
        results.append((total, -spread, w))
    results.sort(key=lambda r: (-r[0], -r[1]))
    best = results[0][0]
    print(f"\nweight fit over {len(results)} combinations (best AUC {best:.4f}); within 0.005 of it, most even first:")
    near = sorted([r for r in results if r[0] >= best - 0.005], key=lambda r: -r[1])
    for total, _neg_spread, w in near[:8]:
        print(f"  AUC {total:.4f}  " + "  ".join(f"{k} {v:g}" for k, v in w.items()))
    print(f"  current weights: AUC {evaluate(measured)[0]:.4f}  " +
          "  ".join(f"{k} {v:g}" for k, v in W.WEIGHTS.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="grid-search the part weights on the labels")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="print every labelled pair")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    t0 = time.perf_counter()
    cases = [c for k, path in enumerate(present(SAMPLES, NAMES)) if (c := real_case(path, args.seed + k))]
    cases.append(face_case(args.seed))
    built = time.perf_counter() - t0
    print(f"{len(cases)} labelled clips written with the Apple pair writer to {WORK} in {built:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    measured = measure(cases)
    total, by_kind, by_case, rows = evaluate(measured)
    print("\nclip                                      frames  damaged  pairs    AUC   scoring s")
    for case, m, secs in measured:
        n = len(m.times)
        print(f"  {case.name:<40} {n:5d}  {len(case.damaged):7d}  {len(pairs(case, n)):5d}  {by_case[case.name]:.3f}"
              f"   {secs:6.2f}")
    print("\nby damage kind:")
    for kind, value in by_kind.items():
        count = sum(1 for r in rows if r[3] == kind)
        print(f"  {kind:<14} {value:.3f}  ({count} pairs)")
    misses = [r for r in rows if r[5] <= r[4]]
    print(f"\nmisranked pairs ({len(misses)} of {len(rows)}):")
    for name, d, c, kind, sd, sc in (rows if args.verbose else misses):
        print(f"  {name:<40} damaged #{d} ({kind}) {sd:.3f}  vs clean #{c} {sc:.3f}")
    print(f"\nwith the hand-set weights from before the fit ({', '.join(f'{v:g}' for v in HAND_SET.values())}): "
          f"AUC {evaluate(measured, HAND_SET)[0]:.3f}; other damage draws: --seed N (7 is the default)")
    verdict = "PASS" if total >= TARGET_AUC else "FAIL"
    print(f"\n{verdict}  AUC {total:.3f} over {len(rows)} (damaged, clean neighbour) pairs (target >= {TARGET_AUC})")
    if args.fit:
        fit(measured)
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0 if total >= TARGET_AUC else 1


if __name__ == "__main__":
    sys.exit(main())
