"""One prepared run for the first session that has a GPU: everything about the LiveMoments diffusion restorer
that can only be measured on one, in order of importance, inside a time budget.

    python -m benchmarks.gpu_check --out DIR [--time-budget 450] [--fixture DIR] [--stages env,parity,oom,speed]
    python -m benchmarks.gpu_check --out DIR --tiny --device cpu      # smoke test of this script, no GPU

Stages (each guarded: an exception is recorded and the next stage runs; DIR/gpu_check.json is rewritten after
every stage and, in the speed stage, after every measurement, so a run that is cut short still leaves its
results):

1. ``env``: GPU name, compute capability, torch / CUDA / cuDNN / diffusers versions, free and total memory.
2. ``parity``: the numerical fixture (``--fixture``, else $LIVEMOMENTS_FIXTURE, else ../shared/fixtures/
   livemoments-tiny or shared/fixtures/livemoments-tiny in the checkout) on the GPU in float32 with TF32 off:
   the largest absolute error of every tensor against the authors' outputs and how many stay within the CPU
   tests' atol = rtol = 1e-4; then the tiny checkpoint end to end through the public restorer in bfloat16 and
   float32 on a synthetic photo (finite, in range, bf16 close to fp32).
3. ``oom``: the real-size restorer (random weights, :class:`tiny.RandomWeights`) on a 4-tile image with the
   process capped (``torch.cuda.set_per_process_memory_fraction``) to what a 12 GB and an 8 GB card leave
   free: the plan it chose, the out-of-memory retries, peak memory, and whether it ended in a result or a
   RestoreError -- anything else is a crash and a bug. Where the planner refuses up front, the low-memory mode
   is also forced, to see the out-of-memory path itself.
4. ``pipeline``: the app's demo (resources/demo) through core.pipeline on the GPU -- open, align, the real-size
   restorer (random weights) at the key photo's 12 MP, the restored frame's HDR gain map, HEIC export with it,
   read back -- with the time of each step. Needs pillow-heif and PyAV there (carried as wheels).
5. ``speed``: :mod:`benchmarks.diffusion_speed`'s measurements (matmul yardstick, s/tile, denoising-loop
   utilisation, 12 MP image, compiled, low-memory peak) in what is left of the budget.

Without a CUDA GPU it refuses (exit 2; 0 when run with no arguments, as ``python -m benchmarks`` does), except
with ``--tiny --device cpu``, which runs every stage on the tiny
config (tests/test_gpu_check.py). On the H200 the whole run is sized for about 7 minutes (``--time-budget``,
default 450 s: later stages are skipped cleanly when the budget is gone).

The device machine (python3 with torch, numpy, OpenCV, safetensors, huggingface_hub; no diffusers) needs the
diffusers wheel and the fixture carried along; docs/models.md ("Measuring on a GPU") has the exact commands.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks._common import ROOT

GiB = 2**30
STAGES = ("env", "parity", "oom", "pipeline", "speed")     # speed last: it takes what is left of the budget
MIN_STAGE_S = {"env": 0, "parity": 20, "oom": 60, "speed": 45, "pipeline": 60}   # below this, a stage is skipped
CAPS_GIB = (12, 8)                   # GPU sizes the oom stage imitates ("12 GB" cards have 12 GiB)
CONTEXT_GIB = 0.5                    # what such a card loses to the CUDA context and the desktop
PARITY_TOL = 1e-4


def fixture_dir(given: str | None) -> Path | None:
    candidates = [given, os.environ.get("LIVEMOMENTS_FIXTURE"), ROOT.parent / "shared" / "fixtures" /
                  "livemoments-tiny", ROOT / "shared" / "fixtures" / "livemoments-tiny"]
    for c in candidates:
        if c and (Path(c) / "outputs.safetensors").is_file():
            return Path(c)
    return None


class Report:
    """The results file, rewritten (atomically) after every change."""

    def __init__(self, out: Path, args):
        self.path = out / "gpu_check.json"
        self.started = time.perf_counter()
        self.data = {"started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "command": " ".join(sys.argv), "tiny": args.tiny, "time_budget_s": args.time_budget,
                     "stages": {}}
        out.mkdir(parents=True, exist_ok=True)
        self.save()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def save(self) -> None:
        self.data["elapsed_s"] = round(self.elapsed(), 1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".gpu_check.", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(self.data, f, indent=2, default=str)
        os.replace(tmp, self.path)


# ----------------------------------------------------------------------------------------------------- stages
def stage_env(ctx) -> dict:
    import diffusers
    import torch

    out = {"python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
           "device": str(ctx.device), "cpu_threads": torch.get_num_threads()}
    if ctx.device.type == "cuda":
        props = torch.cuda.get_device_properties(ctx.device)
        free, total = torch.cuda.mem_get_info(ctx.device)
        out.update(gpu=props.name, capability=f"{props.major}.{props.minor}",
                   multiprocessors=props.multi_processor_count,
                   cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   bf16_supported=torch.cuda.is_bf16_supported(), free_gib=round(free / GiB, 2),
                   total_gib=round(total / GiB, 2),
                   sdpa_enabled={name: getattr(torch.backends.cuda, f"{name}_sdp_enabled", lambda: None)()
                                 for name in ("flash", "mem_efficient", "cudnn", "math")})
    return out


def stage_parity(ctx) -> dict:
    out = {}
    fixture = fixture_dir(ctx.args.fixture)
    if fixture is None:
        out["fixture"] = "absent (give --fixture or LIVEMOMENTS_FIXTURE)"
    else:
        out["fixture"] = str(fixture)
        out.update(_fixture_parity(ctx, fixture))
        ctx.report.save()
    out["tiny_restore"] = _tiny_restore(ctx)
    return out


def _fixture_parity(ctx, fixture: Path) -> dict:
    import torch
    from safetensors.torch import load_file

    from livemoments_app.core.restore.livemoments import colorfix, loader, sampler
    from livemoments_app.core.restore.livemoments.paths import ModelPaths

    dev = ctx.device
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        inputs = load_file(fixture / "inputs.safetensors")
        outputs = load_file(fixture / "outputs.safetensors")
        models = loader.load_models(ModelPaths.from_root(fixture), dev, torch.float32)
        noise = sampler.TileNoise(inputs["vae_sample_noise_lq"], inputs["vae_sample_noise_ref"], inputs["noise"])
        record: dict = {}
        t0 = time.perf_counter()
        decoded = sampler.sample_tiles(models, inputs["lq"], inputs["ref"], inputs["flow"], noise, record=record)
        seconds = time.perf_counter() - t0
        lq01 = inputs["lq_01"].to(dev)
        decoded01 = torch.clamp(0.5 * decoded.clamp(-1, 1) + 0.5, 0, 1)
        record.update(decoded_01=decoded01, final=colorfix.wavelet_color_fix(decoded01, lq01))
        errors, within = {}, 0
        for name in sorted(k for k in outputs if k in record):
            got, want = record[name].float().cpu(), outputs[name].float()
            errors[name] = float((got - want).abs().max())
            within += bool(torch.allclose(got, want, atol=PARITY_TOL, rtol=PARITY_TOL))
        u8 = colorfix.color_fix_u8(decoded, lq01)
        u8_diff = int(abs(u8.astype(int) - outputs["final_u8"].numpy().astype(int)).max())
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    worst = max(errors, key=errors.get)
    return {"tensors": len(errors), "within_1e-4": within, "worst": worst, "worst_abs_error": errors[worst],
            "final_u8_max_diff": u8_diff, "sample_s": round(seconds, 3), "max_abs_error": errors}


def synthetic_pair(frame_px: int):
    """:func:`tiny.textured_pair` (a still twice the frame's size and the frame), aligned."""
    from livemoments_app.core.align import align_pair
    from livemoments_app.core.restore.livemoments.tiny import textured_pair

    still, frame = textured_pair(frame_px)
    return still, frame, align_pair(still, frame)


def _request(pair, scale: float, device: str, options: dict):
    from livemoments_app.core.restore import base

    still, frame, alignment = pair
    return base.RestoreRequest(still=still, frame=frame, alignment=alignment, scale=scale, device=device,
                               options=options)


def _tiny_restore(ctx) -> dict:
    """The tiny checkpoint through the public restorer, bf16 and fp32, on a photo of 2 x 2 tiles of 64 px."""
    import numpy as np

    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.restore.livemoments import restorer as lm, tiny

    still, frame, alignment = synthetic_pair(160)
    pair = (still.astype(np.float32) / 255, frame, alignment)        # float in, float out: NaN would show
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = tiny.write_checkpoint(tmp, tiny.TINY, seed=1)
        for dtype in ("bfloat16", "float32"):
            req = _request(pair, 0.7, ctx.restore_device, {"models": str(root), "tile": 64, "overlap": 16,
                                                           "seed": 3, "dtype": dtype})
            t0 = time.perf_counter()
            out = lm.LiveMomentsRestorer().restore(req, Progress())
            px = out.pixels
            results[dtype] = {"shape": list(px.shape), "seconds": round(time.perf_counter() - t0, 2),
                              "finite": bool(np.isfinite(px).all()), "min": float(np.nanmin(px)),
                              "max": float(np.nanmax(px)), "mean": float(np.nanmean(px)),
                              "info": {k: out.info[k] for k in ("device", "dtype", "memory_mode", "tiles")},
                              "_pixels": px}
        lm.unload()
    bf, fp = results["bfloat16"].pop("_pixels"), results["float32"].pop("_pixels")
    frame_mean = float(frame.reshape(-1, 3).mean() / 255)
    results["bf16_vs_fp32_mean_abs_255"] = float(np.abs(bf - fp).mean() * 255)
    results["frame_mean"] = frame_mean
    results["ok"] = all(r["finite"] and -0.1 <= r["min"] and r["max"] <= 1.1 and abs(r["mean"] - frame_mean) < 0.05
                        for r in (results["bfloat16"], results["float32"]))
    return results


def stage_oom(ctx) -> dict:
    import torch

    from livemoments_app.core.restore import devices
    from livemoments_app.core.restore.livemoments import tiny
    from livemoments_app.core.restore.livemoments.restorer import free_device

    spec = tiny.TINY if ctx.args.tiny else tiny.REAL
    dtype = "float32" if ctx.device.type == "cpu" else devices.default_dtype(str(ctx.device))
    source = tiny.RandomWeights(spec, seed=0, build_device=str(ctx.device))
    t0 = time.perf_counter()
    source.park(getattr(torch, dtype))          # built on the GPU before any cap, then kept in RAM
    tile, overlap, frame_px = (64, 16, 56) if ctx.args.tiny else (1024, 64, 992)
    pair = synthetic_pair(frame_px)             # 2 x frame = 2 tiles a side
    out = {"config": "tiny" if ctx.args.tiny else "real", "dtype": dtype, "tile": tile,
           "weights_built_s": round(time.perf_counter() - t0, 1), "caps": []}
    ctx.report.save()
    caps = CAPS_GIB if ctx.device.type == "cuda" else (None,)
    for cap in caps:
        entry = {"card_gib": cap}
        out["caps"].append(entry)
        try:
            if cap is not None:
                total = torch.cuda.mem_get_info(ctx.device)[1]
                allowed = (cap - CONTEXT_GIB) * GiB
                entry.update(allowed_gib=round(allowed / GiB, 2), fraction=round(allowed / total, 4))
                free_device(str(ctx.device))
                torch.cuda.set_per_process_memory_fraction(allowed / total, ctx.device)
            entry["planner_free_gib"] = _gib(devices.free_memory(str(ctx.device)))
            entry["auto"] = _capped_restore(ctx, source, pair, tile, overlap, dtype, "auto")
            if entry["auto"].get("outcome") != "result" or cap is None:
                entry["forced_low"] = _capped_restore(ctx, source, pair, tile, overlap, dtype, "low")
        finally:
            if cap is not None:
                torch.cuda.set_per_process_memory_fraction(1.0, ctx.device)
            free_device(str(ctx.device))
        ctx.report.save()
    out["never_crashed"] = all(r.get("outcome") in ("result", "RestoreError")
                               for c in out["caps"] for r in (c.get("auto"), c.get("forced_low")) if r)
    return out


def _capped_restore(ctx, source, pair, tile, overlap, dtype, memory) -> dict:
    import numpy as np
    import torch

    from livemoments_app.core.errors import RestoreError
    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.restore.livemoments import restorer as lm

    texts: list[str] = []
    if ctx.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(ctx.device)
    req = _request(pair, 2.0, ctx.restore_device, {"tile": tile, "overlap": overlap, "seed": 42, "dtype": dtype,
                                                   "memory": memory})
    t0 = time.perf_counter()
    try:
        res = lm.LiveMomentsRestorer(source=source).restore(req, Progress(lambda f, t: texts.append(t)))
        got = {"outcome": "result", "shape": list(res.pixels.shape), "finite": bool(np.isfinite(res.pixels).all()),
               "plan": {k: res.info[k] for k in ("memory_mode", "tiles_per_batch", "tiles", "dtype")}}
    except RestoreError as exc:
        got = {"outcome": "RestoreError", "message": str(exc)}
    except Exception as exc:       # anything else escaping the restorer is the bug this stage looks for
        got = {"outcome": "crash", "error": f"{type(exc).__name__}: {exc}"[:500],
               "traceback": traceback.format_exc()[-2000:]}
    got["seconds"] = round(time.perf_counter() - t0, 1)
    got["retries"] = [t for t in texts if t.startswith("Out of memory")]
    if ctx.device.type == "cuda":
        got["peak_gib"] = round(torch.cuda.max_memory_allocated(ctx.device) / GiB, 2)
    lm.unload()
    source.load("cpu", getattr(torch, dtype))     # back to RAM, so the next cap starts from an empty GPU
    return got


def _gib(n: int | None) -> float | None:
    return None if n is None else round(n / GiB, 2)


def stage_pipeline(ctx) -> dict:
    """The app's demo through the app's own one-photo pipeline on the GPU: open, align, the diffusion restorer at
    the key photo's full size (real-size random weights, so the pixels are noise: this measures the mechanics and
    the time, not the quality), the restored frame's HDR gain map, HEIC export with it, and the file read back."""
    import numpy as np
    import pillow_heif
    import torch

    from livemoments_app.core.export import ExportOptions
    from livemoments_app.core.hdr.model import APPLE_AUX_URN
    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.pipeline import restore_frame, write_result
    from livemoments_app.core.restore import devices
    from livemoments_app.core.restore.livemoments import restorer as lm, tiny
    from livemoments_app.resources import demo_paths
    from livemoments_app.ui.demo import demo_frame

    spec = tiny.TINY if ctx.args.tiny else tiny.REAL
    dtype = "float32" if ctx.device.type == "cpu" else devices.default_dtype(str(ctx.device))
    source = tiny.RandomWeights(spec, seed=0, build_device=str(ctx.device))
    source.park(getattr(torch, dtype))
    options = {"dtype": dtype, "seed": 42} | ({"tile": 64, "overlap": 16} if ctx.args.tiny else {})
    out: dict = {"config": "tiny" if ctx.args.tiny else "real", "dtype": dtype, "steps": {}}
    steps = out["steps"]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, open_live_photo(*demo_paths()) as live:
        steps["open_s"] = round(time.perf_counter() - t0, 2)
        index = demo_frame(live)
        texts: list[str] = []
        t1 = time.perf_counter()
        result, alignment = restore_frame(live, index, lm.LiveMomentsRestorer(source=source), device="cuda"
                                          if ctx.device.type == "cuda" else "cpu",
                                          size=0.05 if ctx.args.tiny else 1.0, options=options,
                                          progress=Progress(lambda f, text: texts.append(text)))
        steps["align_restore_gain_map_s"] = round(time.perf_counter() - t1, 2)
        px = result.pixels
        out.update(frame=index, size=[int(px.shape[1]), int(px.shape[0])], finite=bool(np.isfinite(px).all()),
                   from_key_share=result.from_key_share, plan={k: result.info.get(k) for k in
                                                               ("memory_mode", "tiles", "tiles_per_batch")},
                   restore_s=round(result.elapsed_s, 2), gain_map=None if result.gain_map is None else
                   list(result.gain_map.size), progress_texts=sorted(set(texts))[:20])
        ctx.report.save()
        t2 = time.perf_counter()
        written = write_result(result, live, Path(tmp), ExportOptions(format="heic"))
        steps["export_heic_s"] = round(time.perf_counter() - t2, 2)
        heif = pillow_heif.open_heif(written.paths[0])
        aux = heif.info.get("aux", {}).get(APPLE_AUX_URN, [])
        out["written"] = {"size": list(heif.size), "bytes": written.paths[0].stat().st_size, "hdr": written.hdr,
                          "gain_map": list(heif.get_aux_image(aux[0]).size) if aux else None}
    steps["total_s"] = round(time.perf_counter() - t0, 2)
    lm.unload()
    return out


def stage_speed(ctx) -> dict:
    from benchmarks import diffusion_speed

    left = ctx.args.time_budget - ctx.report.elapsed() - 10
    argv = ["--device", str(ctx.device), "--time-budget", f"{max(left, 1):.0f}"]
    if ctx.args.tiny:
        argv += ["--tiny", "--repeats", "1", "--megapixels", "0.01", "--compile", "off"]
    args = diffusion_speed.parse(argv)
    device, words = diffusion_speed.settle(args)
    holder = ctx.report.data["stages"]["speed"]

    def saved(results: dict) -> None:
        holder["results"] = results
        ctx.report.save()

    diffusion_speed.run(args, device, words, on_update=saved)
    return {"results": holder["results"]}


RUNNERS = {"env": stage_env, "parity": stage_parity, "oom": stage_oom, "speed": stage_speed,
           "pipeline": stage_pipeline}


class _Context:
    def __init__(self, args, device, report):
        self.args, self.device, self.report = args, device, report
        self.restore_device = "cuda" if device.type == "cuda" else device.type


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="folder for gpu_check.json (default: out/gpu_check in the checkout)")
    p.add_argument("--time-budget", type=float, default=450.0, help="seconds for all stages (default 450)")
    p.add_argument("--tiny", action="store_true", help="the tiny config everywhere (a smoke test of this script)")
    p.add_argument("--device", default="auto", help="auto (CUDA), cuda, cuda:N, or cpu with --tiny")
    p.add_argument("--fixture", help="numerical fixture folder (default: $LIVEMOMENTS_FIXTURE, ../shared/...)")
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    stages = [s for s in args.stages.split(",") if s]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        print(f"[gpu_check] unknown stage(s): {', '.join(unknown)} (known: {', '.join(STAGES)})", file=sys.stderr)
        return 2
    import torch

    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "none"
    if args.device.startswith("cuda") and torch.cuda.is_available():
        device = torch.device(args.device if ":" in args.device else "cuda:0")
    elif args.device == "cpu" and args.tiny:
        device = torch.device("cpu")
        torch.set_num_threads(1)      # tiny matrices: more threads only contend
    else:
        print("[gpu_check] this check needs a CUDA GPU and none is available here (torch "
              f"{torch.__version__}, device {args.device!r}); for a smoke test of the script on the CPU run it "
              "with --tiny --device cpu", file=sys.stderr)
        # run bare (`python -m benchmarks` runs every benchmark so) there is nothing to check here, not a failure
        return 0 if not argv else 2

    report = Report(Path(args.out) if args.out else ROOT / "out" / "gpu_check", args)
    ctx = _Context(args, device, report)
    print(f"[gpu_check] {device} | stages {','.join(stages)} | budget {args.time_budget:.0f} s | "
          f"{'tiny' if args.tiny else 'real size'} -> {report.path}", flush=True)
    for name in stages:
        left = args.time_budget - report.elapsed()
        entry = report.data["stages"].setdefault(name, {})
        if name != "env" and left < max(MIN_STAGE_S[name], 1):     # env is instant and says what ran where
            entry.update(status="skipped", why=f"{left:.0f} s of the {args.time_budget:.0f} s budget left")
            print(f"[gpu_check] {name}: skipped ({entry['why']})", flush=True)
            report.save()
            continue
        t0 = time.perf_counter()
        try:
            entry.update(RUNNERS[name](ctx))
            entry["status"] = "ok"
        except Exception as exc:        # one stage's failure must not cost the others
            entry.update(status="error", error=f"{type(exc).__name__}: {exc}"[:1000],
                         traceback=traceback.format_exc()[-3000:])
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        report.save()
        print(f"[gpu_check] {name}: {entry['status']} in {entry['seconds']:.0f} s"
              f"{' -- ' + entry['error'] if entry['status'] == 'error' else ''}", flush=True)
    report.data["total_s"] = round(report.elapsed(), 1)
    report.save()
    print(f"[gpu_check] done in {report.data['total_s']:.0f} s: {report.path}")
    return 0 if all(report.data["stages"][s]["status"] == "ok" for s in stages) else 1


if __name__ == "__main__":
    sys.exit(main())
