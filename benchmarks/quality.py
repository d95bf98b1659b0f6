"""Restoration quality on synthetic Live Photos (with ground truth) and contact sheets of the real samples.

    python -m benchmarks.quality [--restorer classic] [--out DIR] [--samples DIR] [--quick] [--no-real]

Synthetic set (``tests/support/synthlive``): crops of the real stills in ../shared/samples at easy/medium/hard and the
scikit-image sample photos at easy. Per case: PSNR/SSIM of luma over the image, inside the region whose content
is absent from the key photo (``in``) and outside it, and relative sharpness (HF energy vs the ground truth),
for the restorer and the baselines measured in the same run: bicubic and Lanczos upscaling of the frame,
"warp only" (the warped still where the alignment is trusted, the bicubic frame elsewhere) and "colour only"
(the classic restorer's colour-mapped frame without detail transfer -- how much the still's detail adds).

Real samples: for each decodable Live Photo, a frame >= 0.3 s from the key photo is restored and a contact sheet
(frame upscaled | restored | key photo, same crops at 100 %) is written to ``--out``; the relative sharpness
(HF energy vs the key photo) of the upscaled frame and of the result is reported.

Targets (issue #4): mean PSNR >= bicubic + 2.5 dB, mean SSIM above bicubic, every case >= bicubic + 0.5 dB,
inside absent regions never worse than bicubic by more than 0.2 dB.
"""

from __future__ import annotations

import argparse
import math
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


def evaluate_case(case, restorer: str) -> dict:
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
        result = _restore(case.key, case.degraded, alignment, restorer, case.scale)
        row["restore_s"] = result.elapsed_s
        row["trusted"] = result.info.get("trusted_share", float("nan"))
        outputs["restorer"] = result.pixels
        outputs["colour only"] = _restore(case.key, case.degraded, alignment, "classic", case.scale,
                                          {"transfer_detail": False}).pixels
        outputs["warp only"] = warp_only(case.key, case.degraded, alignment, (tw, th))
    for method, image in outputs.items():
        row[method] = quality.compare(image, case.target, case.absent_mask)
    return row


def _fmt(v: float, digits: int = 2) -> str:
    return "   nan" if v is None or not math.isfinite(v) else f"{v:6.{digits}f}"


def print_table(rows: list[dict]) -> None:
    print("\nPer case: PSNR dB (luma) whole / in absent region / out; SSIM whole; sharpness vs ground truth")
    head = f"{'case':24s} {'frame':>9s} {'x':>4s} | " + " | ".join(f"{m:^27s}" for m in METHODS)
    print(head)
    print("-" * len(head))
    for r in rows:
        cells = []
        for m in METHODS:
            q = r.get(m)
            cells.append("           (failed)        " if q is None else
                         f"{_fmt(q['psnr'])} {_fmt(q['psnr_in'])} {_fmt(q['ssim'], 3)} {_fmt(q['sharpness'], 2)}")
        print(f"{r['name']:24s} {r['frame']:>9s} {r['scale']:4.1f} | " + " | ".join(cells))
        if "error" in r:
            print(f"    alignment failed: {r['error']}")
    print("(cells: PSNR, PSNR in absent region, SSIM, relative sharpness)")


def summarise(rows: list[dict]) -> tuple[dict, list[str]]:
    """Averages per method, and the target checks as lines ('PASS ...'/'FAIL ...')."""
    summary: dict = {}
    for m in METHODS:
        vals = [r[m] for r in rows if r.get(m) is not None]
        if not vals:
            continue
        summary[m] = {k: float(np.nanmean([v[k] for v in vals])) for k in vals[0]}
    lines = []
    done = [r for r in rows if r.get("restorer") is not None]
    failed = [r["name"] for r in rows if r.get("restorer") is None]
    d_psnr = np.array([r["restorer"]["psnr"] - r["bicubic"]["psnr"] for r in done])
    d_ssim = np.array([r["restorer"]["ssim"] - r["bicubic"]["ssim"] for r in done])
    d_in = np.array([r["restorer"]["psnr_in"] - r["bicubic"]["psnr_in"] for r in done])

    def check(ok: bool, text: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {text}")

    check(not failed, f"every case aligned ({len(failed)} failed{': ' + ', '.join(failed) if failed else ''})")
    if len(done):
        check(d_psnr.mean() >= 2.5, f"mean PSNR gain over bicubic {d_psnr.mean():+.2f} dB (target >= +2.5)")
        check(d_ssim.mean() > 0, f"mean SSIM gain over bicubic {d_ssim.mean():+.4f} (target > 0)")
        worst = done[int(np.argmin(d_psnr))]["name"]
        check(d_psnr.min() >= 0.5, f"worst case PSNR gain {d_psnr.min():+.2f} dB ({worst}; target >= +0.5)")
        worst_in = done[int(np.nanargmin(d_in))]["name"]
        check(np.nanmin(d_in) >= -0.2, f"worst PSNR gain inside absent regions {np.nanmin(d_in):+.2f} dB "
                                        f"({worst_in}; target >= -0.2)")
    return summary, lines


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


def evaluate_real(samples: Path, out: Path, restorer: str) -> list[dict]:
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
            result = _restore(live.still.pixels, frame, alignment, restorer, None)
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
                    "trusted": result.info.get("trusted_share", float("nan")),
                    "sharp_frame": quality.relative_sharpness(up, still),
                    "sharp_restored": quality.relative_sharpness(result.pixels, still)})
        sheet = contact_sheet(frame, result.pixels, still, alignment)
        sheet_path = out / f"contact_{Path(still_name).stem}.png"
        cv2.imwrite(str(sheet_path), sheet[..., ::-1])
        row["sheet"] = str(sheet_path)
        rows.append(row)
        live.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.splitlines()[0])
    parser.add_argument("--restorer", default="classic")
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--out", type=Path, default=Path("/tmp/livemoments-quality"))
    parser.add_argument("--quick", action="store_true", help="the medium level only")
    parser.add_argument("--no-real", action="store_true", help="skip the real-sample contact sheets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from tests.support import synthlive

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sources = synthlive.default_sources(args.samples)
    if not sources:
        print("no source photos: ../shared/samples is absent and scikit-image is not installed", file=sys.stderr)
        return 2
    levels = (lambda name: ("medium",)) if args.quick else synthlive.default_levels
    cases = synthlive.synthetic_set(sources, seed=args.seed, levels=levels)
    print(f"{len(cases)} synthetic cases from {len(sources)} photos ({', '.join(sources)}), "
          f"built in {time.perf_counter() - t0:.1f} s")
    rows = []
    for case in cases:
        rows.append(evaluate_case(case, args.restorer))
        r = rows[-1]
        if r.get("restorer"):
            print(f"  {r['name']:24s} restorer {r['restorer']['psnr']:.2f} dB  bicubic {r['bicubic']['psnr']:.2f} dB"
                  f"  ({r['align_s']:.2f} s align, {r['restore_s']:.2f} s restore)", flush=True)
        else:
            print(f"  {r['name']:24s} FAILED: {r.get('error')}", flush=True)
    print_table(rows)
    summary, checks = summarise(rows)
    print("\nAverages over the synthetic set:")
    print(f"{'method':12s} {'PSNR':>7s} {'PSNR in':>8s} {'PSNR out':>9s} {'SSIM':>7s} {'SSIM in':>8s} {'sharp':>6s}")
    for m, s in summary.items():
        print(f"{m:12s} {s['psnr']:7.2f} {s['psnr_in']:8.2f} {s['psnr_out']:9.2f} {s['ssim']:7.4f} "
              f"{s['ssim_in']:8.4f} {s['sharpness']:6.3f}")
    if "restorer" in summary:
        for m in ("bicubic", "lanczos", "warp only", "colour only"):
            if m in summary:
                print(f"restorer vs {m:11s}: {summary['restorer']['psnr'] - summary[m]['psnr']:+.2f} dB PSNR, "
                      f"{summary['restorer']['ssim'] - summary[m]['ssim']:+.4f} SSIM")
    print()
    for line in checks:
        print(line)

    if not args.no_real and args.samples.is_dir():
        print(f"\nReal samples (contact sheets in {args.out}):")
        for r in evaluate_real(args.samples, args.out, args.restorer):
            if "error" in r:
                print(f"  {r['name']}: {r['error']}")
                continue
            print(f"  {r['name']}: frame {r['frame_index']} ({r['dt_s']:+.2f} s from the key photo), "
                  f"{r['frame']} -> {r['output']}, aligned {r['aligned_share']:.0%}, trusted {r['trusted']:.0%}; "
                  f"sharpness vs key photo: frame upscaled {r['sharp_frame']:.3f}, restored {r['sharp_restored']:.3f}"
                  f" ({r['restore_s']:.1f} s) -> {r['sheet']}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0 if all(line.startswith("PASS") for line in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
