"""Time and peak memory of one restoration, end to end (read, align, restore, write), at 12 MP and 48 MP.

    python -m benchmarks.restore_speed [--repeats 3] [--restorer classic] [--no-48mp]

The subject is the iPhone 15 Pro sample from ../shared/samples: its key photo (HEIC, 3024x4032 upright) as the
reference file and a clip frame 0.5 s from the key photo (1440x1920, saved as PNG beforehand) as the target,
restored at the key photo's pixel density: a 12 MP output, written as JPEG. Each run is a fresh process, so the
peak memory (max RSS, from wait4) is the run's own. The baseline measured in the same run is the trivial
"restorer": read the frame, bicubic upscale to the same size, write the JPEG.

48 MP: the reference is the key photo upscaled 2x (6048x8064, JPEG, made beforehand) and the output again has
its pixel density (~48 MP); it must complete, and its time and peak memory are reported.

Targets (issue #4): 12 MP median <= 5 s on the 2-core machine with peak memory <= 2 GB. The machine is shared:
wall times are noisy, so the CPU time (user + sys) of each run is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import ROOT, SAMPLES

SAMPLE = SAMPLES / "apple_iphone15pro_IMG_4394.HEIC"
TARGET_S = 5.0
TARGET_MB = 2048.0


def run_restore(reference: str, target: str, output: str, restorer: str, align_passes: int = 0) -> dict:
    """One end-to-end restoration (what a child process runs); returns stage timings. ``align_passes`` > 0
    overrides the aligner's residual passes for plain pairs (0: its default)."""
    from dataclasses import replace

    from livemoments_app.core.export import ExportOptions
    from livemoments_app.core.pipeline import RestoreJob, restore_job, write_outcome

    from livemoments_app.core.align.alignment import PAIR_OPTIONS
    from livemoments_app.core.jobs import Progress

    stages: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def on_progress(fraction: float, text: str) -> None:
        if text != last[1]:
            now = time.perf_counter()
            if last[1]:
                stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
            last[0], last[1] = now, text

    t0 = time.perf_counter()
    options = replace(PAIR_OPTIONS, residual_passes=align_passes) if align_passes > 0 else None
    outcome = restore_job(RestoreJob(reference=Path(reference), target=Path(target), restorer=restorer,
                                     align_options=options), Progress(on_progress))
    on_progress(1.0, "Writing")
    write_outcome(outcome, output, ExportOptions(format="jpeg", overwrite=True))
    on_progress(1.0, "done")
    h, w = outcome.image.pixels.shape[:2]
    return {"total_s": time.perf_counter() - t0, "stages": stages, "size": [w, h]}


def run_bicubic(target: str, output: str, size: tuple[int, int]) -> dict:
    import cv2
    from livemoments_app.core.pipeline import read_image
    from livemoments_app.core.export import StillMetadata, ExportOptions, export_still

    t0 = time.perf_counter()
    frame = read_image(Path(target), "target", hdr=False).pixels
    up = cv2.resize(frame, tuple(size), interpolation=cv2.INTER_CUBIC)
    export_still(up, StillMetadata(), output, ExportOptions(format="jpeg", overwrite=True))
    return {"total_s": time.perf_counter() - t0, "stages": {}, "size": list(size)}


def _child(code: str) -> tuple[dict, float, float]:
    """Runs ``code`` in a fresh interpreter; returns (its JSON result, peak RSS MB, CPU seconds)."""
    # Output goes to files, not pipes: wait4 (for the child's own rusage) reads nothing while it waits, so a child
    # writing more than a pipe's buffer (warnings, a traceback) would block forever.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise RuntimeError(f"child failed ({rc}): {stderr.strip().splitlines()[-1] if stderr else ''}")
    result = json.loads(stdout.strip().splitlines()[-1])
    return result, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def _prepare(folder: Path, with_48: bool) -> dict:
    import cv2
    from livemoments_app.core.livephoto import open_live_photo

    live = open_live_photo(SAMPLE)
    index = live.clip.nearest_index(live.key_time_s - 0.5)
    frame = live.clip.frame(index)
    still = live.still.pixels
    live.close()
    paths = {"reference": str(SAMPLE), "target": str(folder / "frame.png"), "frame_index": index,
             "frame_size": [frame.shape[1], frame.shape[0]]}
    cv2.imwrite(paths["target"], frame[..., ::-1])
    if with_48:
        big = cv2.resize(still, (still.shape[1] * 2, still.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
        paths["reference48"] = str(folder / "reference48.jpg")
        cv2.imwrite(paths["reference48"], big[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.restore_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--restorer", default="classic")
    parser.add_argument("--no-48mp", action="store_true")
    parser.add_argument("--align-passes", type=int, default=0,
                        help="residual passes of the pair aligner (0: its default, which is 2)")
    args = parser.parse_args(argv)
    if not SAMPLE.exists():
        print(f"{SAMPLE} is absent: this benchmark needs the real iPhone sample", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="lm-speed-") as tmp:
        folder = Path(tmp)
        paths = _prepare(folder, not args.no_48mp)
        fw, fh = paths["frame_size"]
        print(f"reference {SAMPLE.name}, target frame #{paths['frame_index']} {fw}x{fh}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        mod = "from benchmarks.restore_speed import run_restore, run_bicubic; import json; print(json.dumps("
        rows = []
        size = None
        for i in range(args.repeats):
            res, mb, cpu = _child(mod + f"run_restore({paths['reference']!r}, {paths['target']!r}, "
                                        f"{str(folder / 'out.jpg')!r}, {args.restorer!r}, {args.align_passes})))")
            size = res["size"]
            rows.append((res["total_s"], mb, cpu))
            stages = ", ".join(f"{k.lower()} {v:.2f}" for k, v in res["stages"].items() if k != "done")
            print(f"  12 MP run {i + 1}: {res['total_s']:.2f} s wall, {cpu:.2f} s CPU, peak {mb:.0f} MB "
                  f"[{stages}]", flush=True)
        base = []
        for i in range(args.repeats):
            res, mb, cpu = _child(mod + f"run_bicubic({paths['target']!r}, {str(folder / 'bic.jpg')!r}, "
                                        f"{tuple(size)!r})))")
            base.append((res["total_s"], mb, cpu))
        med = statistics.median(r[0] for r in rows)
        med_cpu = statistics.median(r[2] for r in rows)
        peak = max(r[1] for r in rows)
        bmed = statistics.median(r[0] for r in base)
        print(f"\n12 MP ({size[0]}x{size[1]}) {args.restorer}: median {med:.2f} s wall ({med_cpu:.2f} s CPU), "
              f"peak {peak:.0f} MB; bicubic+I/O baseline median {bmed:.2f} s "
              f"({statistics.median(r[2] for r in base):.2f} s CPU, peak {max(r[1] for r in base):.0f} MB); "
              f"ratio {med / bmed:.1f}x")
        ok = med <= TARGET_S and peak <= TARGET_MB
        print(f"{'PASS' if med <= TARGET_S else 'FAIL'}  12 MP median {med:.2f} s (target <= {TARGET_S:.0f} s)")
        print(f"{'PASS' if peak <= TARGET_MB else 'FAIL'}  12 MP peak memory {peak:.0f} MB (target <= {TARGET_MB:.0f} MB)")
        if not args.no_48mp:
            try:
                res, mb, cpu = _child(mod + f"run_restore({paths['reference48']!r}, {paths['target']!r}, "
                                            f"{str(folder / 'out48.jpg')!r}, {args.restorer!r}, {args.align_passes})))")
            except RuntimeError as exc:
                print(f"FAIL  48 MP: {exc}")
                ok = False
            else:
                w, h = res["size"]
                print(f"PASS  48 MP ({w}x{h}, {w * h / 1e6:.0f} MP) completed: {res['total_s']:.1f} s wall, "
                      f"{cpu:.1f} s CPU, peak {mb:.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
