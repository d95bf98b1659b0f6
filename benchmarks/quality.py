"""Restoration quality on synthetic Live Photos (with ground truth) and contact sheets of the real samples.

    python -m benchmarks.quality [--restorer classic] [--option KEY=VALUE ...] [--levels L,L] [--out DIR]
                                 [--samples DIR] [--quick] [--no-real]

Synthetic set (``tests/support/synthlive``): crops of the real stills in ../shared/samples at the easy, medium and
hard levels and at the hard cases of issue #13 (``walker``: a figure of the key photo walks on while something
enters the frame, H.264 CRF 30; ``head``: a head turns, CRF 26, motion blur; ``night``: night-clip noise, HEVC at
the iPhone's bit rate, camera and object motion blur; ``starved``: both moving objects, an entering occluder,
CRF 34); the scikit-image sample photos at easy. The older cases keep their seeds, so their numbers compare.
Then the held-out-like set (``synthlive.WHOLE_LEVELS``): the *whole* 12 MP stills at x2.5, H.264 at CRF 26 and
30, two of four cases per still hard (larger motion, an entering occluder, a walker, a turning head), reported
and checked on their own (``--no-whole`` skips them; ``--quick`` too).

Per case, luma PSNR and SSIM over the whole image and inside each ground-truth mask: ``new`` (content the key
photo does not hold: occluders, what a moving object uncovered, a head's far side), ``moving`` (content the key
photo holds elsewhere or otherwise shaped: the walker, the turned head) and ``edge`` (a ring up to 12 frame
pixels outside both: where a halo would show). Methods, all measured in the same run: the restorer, bicubic and
Lanczos upscaling of the frame, "warp only" (the warped still where the alignment is trusted, the bicubic frame
elsewhere) and "colour only" (the classic restorer's colour-mapped frame without detail transfer).

Real samples: for each decodable Live Photo, a frame >= 0.3 s from the key photo is restored and a contact sheet
(frame upscaled | restored | key photo, same crops at 100 %) is written to ``--out``; the relative sharpness
(HF energy vs the key photo) of the upscaled frame and of the result is reported.

Targets (issue #13): mean PSNR >= bicubic + 4 dB, every case >= bicubic + 2.5 dB; in every case, inside new
content and inside moving objects, PSNR >= bicubic (0.0 dB) and SSIM no lower.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks._common import SAMPLES

REAL_LIVE_PHOTOS = [
    ("apple_iphone15pro_IMG_4394.HEIC", None),
    ("apple_iphone6s_0FFBE909.jpeg", "apple_iphone6s_0FFBE909_3.mov"),
    ("samsung_s22_oneui6_motionphoto.heic", None),
    ("libmphoto_heic_motionphoto_pixel4video.heic", None),
]
METHODS = ("restorer", "colour only", "warp only", "bicubic", "lanczos")
REGIONS = ("new", "moving", "edge")
EDGE_FRAME_PX = 12          # the "edge" ring's width in frame pixels (the halos seen on real clips: 10-40 px)
TARGET_MEAN_DB = 4.0
TARGET_WORST_DB = 2.5


def _restore(still, frame, alignment, restorer: str, scale: float | None, options: dict | None = None):
    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.restore import registry
    from livemoments_app.core.restore.base import RestoreRequest

    request = RestoreRequest(still=still, frame=frame, alignment=alignment, scale=scale, options=options or {})
    return registry.create(restorer).restore(request, Progress())


def warp_only(still: np.ndarray, frame: np.ndarray, alignment, size: tuple[int, int]) -> np.ndarray:
    """The still warped into the frame where the alignment is trusted (confidence >= 0.5), the bicubic frame
    elsewhere: what plain reference warping without fusion or colour handling gives."""
    w, h = size
    scale = w / frame.shape[1]
    warped, valid = alignment.warp_still(still, scale, interpolation=cv2.INTER_CUBIC)
    up = cv2.resize(frame, (w, h), interpolation=cv2.INTER_CUBIC)
    use = (alignment.confidence_at(scale) >= 0.5) & valid
    return np.where(use[..., None], warped, up)


def regions(case) -> dict[str, np.ndarray]:
    """The case's ground-truth masks by name (see the module docstring)."""
    new = case.absent_mask
    moving = case.moving_mask if case.moving_mask is not None else np.zeros_like(new)
    changed = (new | moving).astype(np.uint8)
    r = int(round(EDGE_FRAME_PX * case.scale))
    ring = cv2.dilate(changed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
    return {"new": new, "moving": moving, "edge": ring & ~changed.astype(bool)}


def evaluate_case(case, restorer: str, options: dict | None = None, keep: bool = False) -> dict:
    """One case's metrics per method; ``keep`` also returns the images and the restorer's from_key map."""
    from livemoments_app.core import quality
    from livemoments_app.core.align import align_pair
    from livemoments_app.core.errors import AlignmentError

    th, tw = case.target.shape[:2]
    row: dict = {"name": case.name, "frame": f"{case.degraded.shape[1]}x{case.degraded.shape[0]}",
                 "scale": case.scale}
    outputs = {
        "bicubic": cv2.resize(case.degraded, (tw, th), interpolation=cv2.INTER_CUBIC),
        "lanczos": cv2.resize(case.degraded, (tw, th), interpolation=cv2.INTER_LANCZOS4),
    }
    t = time.perf_counter()
    try:
        alignment = align_pair(case.key, case.degraded)
    except AlignmentError as exc:
        row["error"] = str(exc)
        alignment = None
    row["align_s"] = time.perf_counter() - t
    if alignment is not None:
        result = _restore(case.key, case.degraded, alignment, restorer, case.scale, options)
        row["restore_s"] = result.elapsed_s
        row["from_key"] = result.from_key_share if result.from_key is not None else float("nan")
        outputs["restorer"] = result.pixels
        outputs["colour only"] = _restore(case.key, case.degraded, alignment, "classic", case.scale,
                                          {**(options or {}), "transfer_detail": False}).pixels
        outputs["warp only"] = warp_only(case.key, case.degraded, alignment, (tw, th))
        if keep:
            row["from_key_map"] = result.from_key
            row["alignment"] = alignment
    masks = regions(case)
    for method, image in outputs.items():
        row[method] = quality.compare(image, case.target, masks=masks)
    if keep:
        row["images"] = outputs
    return row


def _fmt(v: float | None, digits: int = 2, width: int = 6) -> str:
    return f"{'-':>{width}s}" if v is None or not math.isfinite(v) else f"{v:{width}.{digits}f}"


def _gain(row: dict, key: str, against: str = "bicubic") -> float:
    a, b = row.get("restorer"), row.get(against)
    return float("nan") if a is None or b is None else a[key] - b[key]


def print_table(rows: list[dict]) -> None:
    print("\nPer case: restorer - bicubic (luma PSNR dB, SSIM) over the whole image and inside each region; "
          "the restorer's own PSNR; the share restored from the key photo")
    head = (f"{'case':24s} {'frame':>9s} {'x':>4s} | {'dPSNR':>6s} {'new':>6s} {'moving':>6s} {'edge':>6s} | "
            f"{'dSSIM':>6s} {'new':>6s} {'moving':>6s} | {'PSNR':>6s} {'bicub':>6s} | {'key':>4s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if r.get("restorer") is None:
            print(f"{r['name']:24s} {r['frame']:>9s} {r['scale']:4.1f} | alignment failed: {r.get('error')}")
            continue
        d = [_gain(r, k) for k in ("psnr", "psnr_new", "psnr_moving", "psnr_edge")]
        ds = [_gain(r, k) for k in ("ssim", "ssim_new", "ssim_moving")]
        print(f"{r['name']:24s} {r['frame']:>9s} {r['scale']:4.1f} | {' '.join(_fmt(v) for v in d)} | "
              f"{' '.join(_fmt(v, 3) for v in ds)} | {_fmt(r['restorer']['psnr'])} {_fmt(r['bicubic']['psnr'])} | "
              f"{r.get('from_key', float('nan')):4.0%}")
    print("(- : the case has no such region)")


def summarise(rows: list[dict]) -> tuple[dict, list[str]]:
    """Averages per method (over the cases that have each region), and the target checks as lines
    ('PASS ...'/'FAIL ...')."""
    summary: dict = {}
    for m in METHODS:
        vals = [r[m] for r in rows if r.get(m) is not None]
        if vals:
            summary[m] = {k: float(np.nanmean([v[k] for v in vals])) if any(math.isfinite(v[k]) for v in vals)
                          else float("nan") for k in vals[0]}
    lines = []
    done = [r for r in rows if r.get("restorer") is not None]
    failed = [r["name"] for r in rows if r.get("restorer") is None]

    def check(ok: bool, text: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {text}")

    check(not failed, f"every case aligned ({len(failed)} failed{': ' + ', '.join(failed) if failed else ''})")
    if not done:
        return summary, lines
    d_psnr = np.array([_gain(r, "psnr") for r in done])
    d_ssim = np.array([_gain(r, "ssim") for r in done])
    worst = done[int(np.argmin(d_psnr))]["name"]
    check(d_psnr.mean() >= TARGET_MEAN_DB,
          f"mean PSNR gain over bicubic {d_psnr.mean():+.2f} dB over {len(done)} cases (target >= +{TARGET_MEAN_DB})")
    check(d_ssim.mean() > 0, f"mean SSIM gain over bicubic {d_ssim.mean():+.4f} (target > 0)")
    check(d_psnr.min() >= TARGET_WORST_DB,
          f"worst case PSNR gain {d_psnr.min():+.2f} dB ({worst}; target >= +{TARGET_WORST_DB})")
    for region in ("new", "moving"):
        cases = [r for r in done if math.isfinite(_gain(r, f"psnr_{region}"))]
        if not cases:
            continue
        dp = np.array([_gain(r, f"psnr_{region}") for r in cases])
        dsim = np.array([_gain(r, f"ssim_{region}") for r in cases])
        below = [r["name"] for r, v in zip(cases, dp) if v < 0.0]
        check(not below, f"inside {region} content: worst PSNR gain {dp.min():+.2f} dB "
                         f"({cases[int(np.argmin(dp))]['name']}), mean {dp.mean():+.2f} dB; "
                         f"{len(below)} of {len(cases)} cases below bicubic (target: none)")
        below = [r["name"] for r, v in zip(cases, dsim) if v < 0.0]
        check(not below, f"inside {region} content: worst SSIM gain {dsim.min():+.4f} "
                         f"({cases[int(np.argmin(dsim))]['name']}), mean {dsim.mean():+.4f}; "
                         f"{len(below)} of {len(cases)} cases below bicubic (target: none)")
    return summary, lines


def print_summary(summary: dict, rows: list[dict]) -> None:
    print("\nAverages over the synthetic set (each region over the cases that have it):")
    cols = ("psnr", "psnr_new", "psnr_moving", "psnr_edge", "ssim", "ssim_new", "ssim_moving", "sharpness")
    print(f"{'method':12s} " + " ".join(f"{c.replace('psnr_', 'PSNR ').replace('ssim_', 'SSIM '):>11s}"
                                       for c in cols))
    for m, s in summary.items():
        print(f"{m:12s} " + " ".join(_fmt(s[c], 4 if c.startswith('ssim') else 2, 11) for c in cols))
    if "restorer" in summary:
        for m in ("bicubic", "lanczos", "warp only", "colour only"):
            if m in summary:
                print(f"restorer vs {m:11s}: {summary['restorer']['psnr'] - summary[m]['psnr']:+.2f} dB PSNR, "
                      f"{summary['restorer']['ssim'] - summary[m]['ssim']:+.4f} SSIM")
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("restorer") is not None:
            groups.setdefault(r["name"].split("/")[-1], []).append(r)
    print("\nPer level, mean restorer - bicubic: PSNR whole / new / moving (dB)")
    for level, rs in groups.items():
        vals = [np.array([_gain(r, k) for r in rs]) for k in ("psnr", "psnr_new", "psnr_moving")]
        print(f"  {level:10s} {len(rs):2d} cases  " + "  ".join(
            _fmt(float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")) for v in vals))


# ------------------------------------------------------------------------------------------------ real samples

def _pick_frame(live) -> int:
    """A frame at least 0.3 s from the key photo (0.5 s when the clip allows), on the longer side."""
    times = live.clip.times
    key = live.key_time_s
    before, after = key - times[0], times[-1] - key
    return live.clip.nearest_index(key + min(0.5, after) if after >= before else key - min(0.5, before))


def _crop_centres(confidence: np.ndarray, frame: np.ndarray, n: int, half: float) -> list[tuple[float, float]]:
    """Frame positions of ``n`` well-aligned, textured, spread-out crop centres."""
    g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    texture = cv2.GaussianBlur(np.abs(cv2.Laplacian(g, cv2.CV_32F)), (0, 0), 8)
    score = texture * np.clip(confidence, 0, 1) ** 2
    h, w = g.shape
    m = int(math.ceil(half))
    score[:m] = score[-m:] = 0
    score[:, :m] = score[:, -m:] = 0
    centres = []
    for _ in range(n):
        y, x = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[y, x] <= 0:
            break
        centres.append((float(x), float(y)))
        score[max(0, y - 3 * m):y + 3 * m, max(0, x - 3 * m):x + 3 * m] = 0
    return centres


def contact_sheet(frame: np.ndarray, restored: np.ndarray, still: np.ndarray, alignment, crop: int = 360,
                  n: int = 3) -> np.ndarray:
    """Rows of (frame upscaled | restored | key photo) crops at 100 % of the restored image's pixels, the key
    photo's crop taken around the same scene point."""
    from livemoments_app.core.align.pixels import to_u8

    h, w = restored.shape[:2]
    scale = w / frame.shape[1]
    up = cv2.resize(frame, (w, h), interpolation=cv2.INTER_CUBIC)
    rows = []
    for fx, fy in _crop_centres(alignment.confidence, frame, n, crop / 2 / scale + 2):
        ox, oy = int(round((fx + 0.5) * scale - 0.5)), int(round((fy + 0.5) * scale - 0.5))
        x0 = int(np.clip(ox - crop // 2, 0, w - crop))
        y0 = int(np.clip(oy - crop // 2, 0, h - crop))
        sx, sy = alignment.map_to_still(1.0, (int(fx), int(fy), int(fx) + 1, int(fy) + 1))
        sxi, syi = int(round(float(sx[0, 0]))), int(round(float(sy[0, 0])))
        sh, sw = still.shape[:2]
        s0x = int(np.clip(sxi - crop // 2, 0, sw - crop))
        s0y = int(np.clip(syi - crop // 2, 0, sh - crop))
        tiles = [up[y0:y0 + crop, x0:x0 + crop], restored[y0:y0 + crop, x0:x0 + crop],
                 to_u8(still[s0y:s0y + crop, s0x:s0x + crop])]
        gap = np.full((crop, 6, 3), 255, np.uint8)
        rows.append(np.hstack([tiles[0], gap, tiles[1], gap, tiles[2]]))
        rows.append(np.full((6, rows[-1].shape[1], 3), 255, np.uint8))
    if not rows:
        return np.hstack([up[:crop, :crop], restored[:crop, :crop]])
    return np.vstack(rows[:-1])


def evaluate_real(samples: Path, out: Path, restorer: str, options: dict | None = None) -> list[dict]:
    from livemoments_app.core import quality
    from livemoments_app.core.align import align
    from livemoments_app.core.errors import LivePhotoError
    from livemoments_app.core.livephoto import open_live_photo

    rows = []
    for still_name, partner in REAL_LIVE_PHOTOS:
        path = samples / still_name
        if not path.exists():
            continue
        row = {"name": still_name}
        try:
            live = open_live_photo(path, samples / partner if partner else None)
            index = _pick_frame(live)
            frame = live.clip.frame(index)
            t = time.perf_counter()
            alignment = align(live, index)
            row["align_s"] = time.perf_counter() - t
            result = _restore(live.still.pixels, frame, alignment, restorer, None, options)
        except LivePhotoError as exc:
            row["error"] = str(exc)
            rows.append(row)
            continue
        still = live.still.pixels
        h, w = result.pixels.shape[:2]
        up = cv2.resize(frame, (w, h), interpolation=cv2.INTER_CUBIC)
        row.update({"frame_index": index, "dt_s": float(live.clip.times[index] - live.key_time_s),
                    "frame": f"{frame.shape[1]}x{frame.shape[0]}", "output": f"{w}x{h}",
                    "restore_s": result.elapsed_s, "aligned_share": float(alignment.aligned_share),
                    "from_key": result.from_key_share if result.from_key is not None else float("nan"),
                    "sharp_frame": quality.relative_sharpness(up, still),
                    "sharp_restored": quality.relative_sharpness(result.pixels, still)})
        sheet = contact_sheet(frame, result.pixels, still, alignment)
        sheet_path = out / f"contact_{Path(still_name).stem}.png"
        cv2.imwrite(str(sheet_path), sheet[..., ::-1])
        row["sheet"] = str(sheet_path)
        rows.append(row)
        live.close()
    return rows


def _evaluated(case, restorer: str, options: dict) -> dict:
    r = evaluate_case(case, restorer, options)
    if r.get("restorer"):
        print(f"  {r['name']:24s} restorer {r['restorer']['psnr']:.2f} dB  bicubic {r['bicubic']['psnr']:.2f} dB"
              f"  ({r['align_s']:.2f} s align, {r['restore_s']:.2f} s restore)", flush=True)
    else:
        print(f"  {r['name']:24s} FAILED: {r.get('error')}", flush=True)
    return r


def _report(rows: list[dict], summary: dict, checks: list[str]) -> None:
    print_table(rows)
    print_summary(summary, rows)
    print()
    for line in checks:
        print(line)


def parse_option(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` -> (key, bool/int/float/str value)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    low = value.lower()
    if low in ("true", "false"):
        return key, low == "true"
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.splitlines()[0])
    parser.add_argument("--restorer", default="classic")
    parser.add_argument("--option", type=parse_option, action="append", default=[], metavar="KEY=VALUE",
                        help="a restorer option (e.g. an ablation: --option colour_fit=false); repeatable")
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--out", type=Path, default=Path("/tmp/livemoments-quality"))
    parser.add_argument("--levels", help="only these levels, comma-separated (e.g. walker,head,night,starved)")
    parser.add_argument("--quick", action="store_true", help="the medium level and the hard cases only")
    parser.add_argument("--no-real", action="store_true", help="skip the real-sample contact sheets")
    parser.add_argument("--no-whole", action="store_true", help="skip the held-out-like whole-still cases")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    options = dict(args.option)

    from tests.support import synthlive

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sources = synthlive.default_sources(args.samples)
    if not sources:
        print("no source photos: ../shared/samples is absent and scikit-image is not installed", file=sys.stderr)
        return 2
    levels = synthlive.default_levels
    if args.quick:
        levels = lambda name: tuple(lv for lv in synthlive.default_levels(name)   # noqa: E731
                                    if lv == "medium" or lv in synthlive.HARD_LEVELS)
    whole_levels = () if args.quick or args.no_whole else tuple(synthlive.WHOLE_LEVELS)
    if args.levels:
        wanted = set(args.levels.split(","))
        known = set(synthlive.LEVELS) | set(synthlive.WHOLE_LEVELS)
        if wanted - known:
            parser.error(f"unknown level(s) {', '.join(sorted(wanted - known))}; known: {', '.join(sorted(known))}")
        base = levels
        levels = lambda name: tuple(lv for lv in base(name) if lv in wanted)   # noqa: E731
        whole_levels = tuple(lv for lv in whole_levels if lv in wanted)
    cases = synthlive.synthetic_set(sources, seed=args.seed, levels=levels)
    print(f"{len(cases)} synthetic cases from {len(sources)} photos ({', '.join(sources)}), "
          f"built in {time.perf_counter() - t0:.1f} s; restorer {args.restorer}"
          f"{' with ' + str(options) if options else ''}; load average {os.getloadavg()[0]:.1f}")
    rows = [_evaluated(case, args.restorer, options) for case in cases]
    checks: list[str] = []
    report: dict = {"options": options}
    if rows:
        summary, checks = summarise(rows)
        _report(rows, summary, checks)
        report.update(rows=rows, summary=summary)
    if whole_levels:
        print(f"\nHeld-out-like set: whole stills at {', '.join(whole_levels)} (built one at a time)")
        whole_rows = [_evaluated(case, args.restorer, options)
                      for case in synthlive.whole_set(args.samples, args.seed, whole_levels)]
        if whole_rows:
            whole_summary, whole_checks = summarise(whole_rows)
            _report(whole_rows, whole_summary, whole_checks)
            checks += whole_checks
            report.update(whole_rows=whole_rows, whole_summary=whole_summary)
    (args.out / "quality.json").write_text(json.dumps(report, indent=1, default=float))

    if not args.no_real and args.samples.is_dir():
        print(f"\nReal samples (contact sheets in {args.out}):")
        for r in evaluate_real(args.samples, args.out, args.restorer, options):
            if "error" in r:
                print(f"  {r['name']}: {r['error']}")
                continue
            print(f"  {r['name']}: frame {r['frame_index']} ({r['dt_s']:+.2f} s from the key photo), "
                  f"{r['frame']} -> {r['output']}, aligned {r['aligned_share']:.0%}, from the key photo "
                  f"{r['from_key']:.0%}; sharpness vs key photo: frame upscaled {r['sharp_frame']:.3f}, "
                  f"restored {r['sharp_restored']:.3f} ({r['restore_s']:.1f} s) -> {r['sheet']}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.1f}")
    return 0 if all(line.startswith("PASS") for line in checks) else 1

if __name__ == "__main__":
    sys.exit(main())
