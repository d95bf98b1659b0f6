"""LiveMoments diffusion speed: one 1024-px tile end to end and a 12 MP image, per dtype, eager and compiled.

    python -m benchmarks.diffusion_speed [--tiny] [--dtypes bfloat16,float16] [--compile auto|on|off]
                                         [--batch N] [--megapixels 12] [--json OUT] [--count-flops]

Builds the real SD3-medium-sized LiveMoments architecture (two 24-block MMDiT transformers, motion encoder, VAE)
with random weights -- no download -- on the best device. Without a CUDA/MPS device it runs the tiny fixture
config instead (a smoke test of this script; ``--real`` forces the real size anywhere).

Reported, per dtype and compile mode:
- s/tile of one tile end to end (motion encoder, two VAE encodes, 6 x (reference + main pass), VAE decode), run
  one tile at a time exactly like the release (the baseline), and per tile inside the batched 12 MP run;
- the 12 MP image end to end (tiling, all tiles in batches, C² stitching, colour fix), against the 20 s target;
- transformer utilisation: matmul FLOPs of the denoising loop (livemoments.flops; ``--count-flops`` checks that
  formula against torch.utils.flop_counter on the real loop, real size on the meta device, no GPU needed) / its
  measured time, as a share of the matmul throughput measured in the same run with a large square matmul in the
  same dtype (target >= 50 %);
- peak device memory in the default mode and, on CUDA, for one tile in the low-memory mode (targets 16 / 12 GB).
Timings on a shared machine are noisy: each timing is the median of ``--repeats`` runs after a warm-up.

On a GPU, run it through ``python -m benchmarks.gpu_check`` (the one prepared run for a GPU session: it adds
fixture parity on CUDA and the out-of-memory behaviour at 12 / 8 GB, and saves every result as it goes; see
docs/models.md, "Measuring on a GPU").
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchmarks._common import timed_median

TARGET_12MP_S = 20.0
TARGET_UTILISATION = 0.5
TARGET_PEAK_GB = {"default": 16.0, "low": 12.0}


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _timed(fn, device, repeats: int) -> float:
    """Median seconds of ``fn`` including the device work it queued (synchronised before and after)."""
    def synced():
        fn()
        _sync(device)

    _sync(device)
    return timed_median(synced, repeats)[0]


def _reset_peak(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gb(device) -> float | None:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    if device.type == "mps":
        return torch.mps.driver_allocated_memory() / 1e9
    return None


def matmul_tflops(device, dtype, n: int, repeats: int) -> float:
    """Dense matmul throughput (TFLOP/s) measured now, the yardstick for utilisation."""
    import torch

    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    inner = 10 if device.type != "cpu" else 2
    t = _timed(lambda: [a @ b for _ in range(inner)], device, repeats)
    return 2 * n ** 3 * inner / t / 1e12


def tile_inputs(models, batch: int, tile: int, device, seed: int = 0):
    import torch

    from livemoments_app.core.restore.livemoments import sampler

    g = torch.Generator().manual_seed(seed)
    lq = torch.rand(batch, 3, tile, tile, generator=g) * 2 - 1
    ref = torch.rand(batch, 3, tile, tile, generator=g) * 2 - 1
    flow = torch.randn(batch, 2, tile, tile, generator=g) * 3
    lh = tile // models.latent_factor
    noise = sampler.TileNoise.draw(batch, (models.vae.config.latent_channels, lh, lh), g)
    return lq, ref, flow, noise


def transformer_loop(models, batch: int, tile: int, stop_early: bool):
    """A closure running only the denoising loop (:func:`sampler.denoise`: 6 x reference + main pass) on random
    latents and motion embeddings."""
    import torch

    from livemoments_app.core.restore.livemoments import sampler

    dev, dt = models.device, models.dtype
    lh = tile // models.latent_factor
    c = models.transformer.config.in_channels
    g = torch.Generator(device=dev).manual_seed(1)
    x_ref = torch.randn(batch, c, lh, lh, device=dev, dtype=dt, generator=g)
    x0 = torch.randn(batch, c, lh, lh, device=dev, dtype=dt, generator=g)
    tokens = (tile // models.token_factor) ** 2
    motion = [torch.randn(batch, tokens, models.motion_encoder.out_channels, device=dev, dtype=dt, generator=g)
              for _ in range(models.motion_encoder.num_embeddings)]
    return lambda: sampler.denoise(models, x0, x_ref, motion, stop_early=stop_early)


def loop_flops(models, batch: int, tile: int, stop_early: bool = True) -> int:
    """Matmul FLOPs of :func:`transformer_loop` by the formula :func:`count_flops` checks."""
    from livemoments_app.core.restore.livemoments import flops

    return flops.loop_flops(flops.shape_of(models, tile), batch, stop_early)


def count_flops(tile: int, tiny_config: bool = False) -> dict:
    """The loop's FLOPs by formula and as torch.utils.flop_counter counts them on the real loop, for the real
    architecture built on the ``meta`` device (no memory, no arithmetic; about 15 s on a CPU)."""
    import torch

    from livemoments_app.core.restore.livemoments import flops, tiny

    models = tiny.random_models(tiny.TINY if tiny_config else tiny.REAL, "meta", torch.bfloat16)
    parts = flops.breakdown(flops.shape_of(models, tile))
    counted = flops.count(models, tile)
    return {"tile": tile, "counted": counted, "formula": parts["total"], "parts": parts,
            "relative_difference": (parts["total"] - counted) / counted}


def image_run(models, height: int, width: int, tile: int, overlap: int, batch: int, device):
    """A closure restoring a synthetic ``height`` x ``width`` image end to end (tiles, batches, stitch, colour)
    with the restorer's own tile loop and blending, and the number of tiles."""
    import cv2
    import numpy as np

    from livemoments_app.core.restore.livemoments import restorer
    from livemoments_app.core.restore.livemoments.inputs import FullInputs, tile_inputs as make_tiles

    rng = np.random.default_rng(0)
    small = rng.random((height // 64 + 1, width // 64 + 1, 3)).astype(np.float32)
    lq = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    full = FullInputs(lq01=lq, ref01=lq[::-1].copy(), flow_to_ref=np.full((height, width, 2), 3.0, np.float32),
                      flow_from_ref=np.full((height, width, 2), -3.0, np.float32))
    tiled = make_tiles(full, tile, overlap)

    def run():
        decoded = restorer.sample_all_tiles(models, tiled, 42, batch)
        return restorer.finish(decoded, tiled, full.lq01, np.uint8, str(device))
    return run, len(tiled.origins)


def measure(args, device, dtype_name: str, compiled: bool) -> dict:
    import torch

    from livemoments_app.core.restore.livemoments import restorer, sampler, tiny

    spec = tiny.TINY if args.tiny else tiny.REAL
    dtype = getattr(torch, dtype_name)
    t0 = time.perf_counter()
    models = tiny.random_models(spec, device, dtype, seed=0)
    restorer.set_vae_tiling(models.vae, False)     # what the restorer does in the default mode
    _sync(device)
    build_s = time.perf_counter() - t0
    stop_early = not compiled
    if compiled:
        restorer.compile_blocks(models)
    row = {"dtype": dtype_name, "compiled": compiled, "build_s": round(build_s, 2)}

    # one tile end to end, the release's way (one tile at a time)
    lq, ref, flow, noise = tile_inputs(models, 1, args.tile, device)
    one = lambda: sampler.sample_tiles(models, lq, ref, flow, noise, stop_early=stop_early)  # noqa: E731
    t0 = time.perf_counter()
    decoded = one()                                        # warm-up (and compilation)
    _sync(device)
    row["warmup_s"] = round(time.perf_counter() - t0, 2)
    row["tile_finite"] = bool(torch.isfinite(decoded).all())   # an fp16 overflow shows up here as NaN/inf
    del decoded
    _reset_peak(device)
    row["tile_s"] = _timed(one, device, args.repeats)
    row["tile_peak_gb"] = _peak_gb(device)

    # denoising loop only, batched: utilisation against the measured matmul throughput
    loop = transformer_loop(models, args.batch, args.tile, stop_early)
    loop()
    row["loop_s"] = _timed(loop, device, args.repeats)
    row["loop_tflops"] = loop_flops(models, args.batch, args.tile, stop_early) / row["loop_s"] / 1e12

    # the whole image
    if args.megapixels > 0:
        h = int(round((args.megapixels * 1e6 * 3 / 4) ** 0.5))
        w = int(round(h * 4 / 3))
        restore_image, n = image_run(models, h, w, args.tile, args.overlap, args.batch, device)
        _reset_peak(device)
        row.update(image_hw=[h, w], image_tiles=n, image_s=_timed(restore_image, device, max(1, args.repeats - 2)),
                   image_peak_gb=_peak_gb(device))
        row["image_s_per_tile"] = row["image_s"] / n
    del models
    _reset_peak(device)
    return row


def low_memory_peak(args, device, dtype_name: str) -> dict:
    """Peak memory of one tile in the low-memory mode (model offload between the branches, tiled VAE)."""
    import torch

    from livemoments_app.core.restore.livemoments import restorer, sampler, tiny

    # built on the device (fast random init), then the offloader parks both transformers on the CPU
    models = tiny.random_models(tiny.TINY if args.tiny else tiny.REAL, device, getattr(torch, dtype_name), seed=0)
    restorer.set_vae_tiling(models.vae, True)
    off = restorer._Offloader(models, device)
    lq, ref, flow, noise = tile_inputs(models, 1, args.tile, device)
    _reset_peak(device)
    t = time.perf_counter()
    sampler.sample_tiles(models, lq, ref, flow, noise, offload=off.use)
    _sync(device)
    return {"dtype": dtype_name, "mode": "low", "tile_s": time.perf_counter() - t, "peak_gb": _peak_gb(device)}


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.diffusion_speed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--tiny", action="store_true", help="the fixture's tiny config (CPU smoke test)")
    size.add_argument("--real", action="store_true", help="real size even without a GPU")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtypes", help="comma-separated (default: bfloat16,float16 on CUDA, float16 on MPS, "
                                    "float32 on CPU)")
    p.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                   help="auto: also compiled on CUDA (first dtype only, to stay within 5 minutes)")
    p.add_argument("--tile", type=int)
    p.add_argument("--overlap", type=int)
    p.add_argument("--batch", type=int, default=0, help="tiles per batch (default 4 on CUDA, else 1)")
    p.add_argument("--megapixels", type=float, help="image size for the whole-image run (default 12; tiny: 0.01)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--time-budget", type=float, default=270.0,
                   help="seconds; a run is skipped when less is left than the last one took, the compiled variant "
                        "when half of it is gone (compilation is slow)")
    p.add_argument("--json", help="write the results here too")
    p.add_argument("--count-flops", action="store_true",
                   help="only check the FLOP formula against torch's FLOP counter on the real loop (meta device: "
                        "no GPU, no memory) and exit")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.count_flops:
        return _print_flop_count(args)
    device, words = settle(args)
    results = run(args, device, words)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)
    return 0 if all("error" not in r for r in results["runs"] + results["low_memory"]) else 1


def settle(args):
    """Fills in the defaults that depend on the device; returns (torch.device, its name in words)."""
    import torch

    from livemoments_app.core.restore import devices

    if args.device == "auto":
        acc, words = devices.accelerator()
        device = torch.device(acc or "cpu")
    else:
        device = torch.device(args.device)
        words = torch.cuda.get_device_name(device) if device.type == "cuda" else args.device
    if device.type == "cpu" and not args.real and not args.tiny:
        print("[diffusion_speed] no CUDA/MPS device: running the tiny config as a smoke test (--real forces the "
              "real size)")
        args.tiny = True
    args.tile = args.tile or (64 if args.tiny else 1024)
    args.overlap = args.overlap if args.overlap is not None else (16 if args.tiny else 64)
    args.batch = args.batch or (4 if device.type == "cuda" else 1)
    if args.megapixels is None:
        args.megapixels = 0.01 if args.tiny else 12.0
    if args.tiny and device.type == "cpu":
        torch.set_num_threads(1)   # tiny matrices: more threads only contend
    return device, words


def run(args, device, words: str, on_update=None) -> dict:
    """Every measurement, in order of importance (eager runs per dtype, compiled, low-memory peak); a run is
    skipped when what is left of ``args.time_budget`` is less than the last run took. ``on_update(results)`` is
    called after each measurement (the GPU check saves its file there)."""
    import diffusers
    import torch

    from livemoments_app.core.restore import devices

    if args.dtypes:
        dtypes = args.dtypes.split(",")
    else:
        dtypes = {"cuda": ["bfloat16", "float16"], "mps": ["float16"]}.get(device.type, ["float32"])
    compile_dtypes = {"on": dtypes, "off": []}.get(args.compile, dtypes[:1] if device.type == "cuda" else [])
    update = on_update or (lambda _results: None)

    print(f"[diffusion_speed] {words} | torch {torch.__version__} | diffusers {diffusers.__version__} | "
          f"{'tiny' if args.tiny else 'real-size'} | tile {args.tile}/{args.overlap} | batch {args.batch}")
    started = time.perf_counter()
    left = lambda: args.time_budget - (time.perf_counter() - started)  # noqa: E731
    results = {"device": words, "config": "tiny" if args.tiny else "real", "tile": args.tile, "batch": args.batch,
               "time_budget_s": args.time_budget, "matmul_tflops": {}, "runs": [], "low_memory": [], "skipped": []}
    for dt in dtypes:
        n = 8192 if device.type == "cuda" else 1024
        results["matmul_tflops"][dt] = matmul_tflops(device, getattr(torch, dt), n, args.repeats)
        print(f"  matmul {dt}: {results['matmul_tflops'][dt]:.3g} TFLOP/s ({n}x{n})")
    update(results)
    last_run_s = 0.0
    plan = [(dt, False) for dt in dtypes] + [(dt, True) for dt in compile_dtypes]
    for dt, compiled in plan:
        name = f"{dt}{' compiled' if compiled else ''}"
        if compiled and left() < args.time_budget * 0.5:
            _skip(results, name, f"over half of the {args.time_budget:.0f} s budget already spent (compiling is slow)")
            continue
        if left() < last_run_s:
            _skip(results, name, f"{left():.0f} s of the budget left, the last run took {last_run_s:.0f} s")
            continue
        t0 = time.perf_counter()
        try:
            row = measure(args, device, dt, compiled)
        except Exception as exc:  # an out-of-memory or a compile failure must not hide the other numbers
            error = "out of memory" if devices.is_out_of_memory(exc) else f"{type(exc).__name__}: {exc}"[:300]
            row = {"dtype": dt, "compiled": compiled, "error": error}
        if not compiled:
            last_run_s = time.perf_counter() - t0
        if "loop_tflops" in row:
            row["utilisation"] = row["loop_tflops"] / results["matmul_tflops"][dt]
        results["runs"].append(row)
        _print_row(row)
        update(results)
    if device.type == "cuda":
        for dt in dtypes[:1]:
            if left() < 30:
                _skip(results, f"low-memory mode {dt}", f"{left():.0f} s of the budget left")
                continue
            try:
                low = low_memory_peak(args, device, dt)
            except Exception as exc:
                error = "out of memory" if devices.is_out_of_memory(exc) else f"{type(exc).__name__}: {exc}"[:300]
                results["low_memory"].append({"dtype": dt, "mode": "low", "error": error})
                print(f"  low-memory mode {dt}: FAILED ({error})")
                update(results)
                continue
            results["low_memory"].append(low)
            print(f"  low-memory mode {dt}: one tile {low['tile_s']:.2f} s, peak {low['peak_gb']:.2f} GB "
                  f"(target <= {TARGET_PEAK_GB['low']:.0f} GB)")
            update(results)
    results["total_s"] = time.perf_counter() - started
    print(f"[diffusion_speed] total {results['total_s']:.0f} s")
    update(results)
    return results


def _skip(results: dict, name: str, why: str) -> None:
    results["skipped"].append({"run": name, "why": why})
    print(f"  {name}: skipped, {why}")


def _print_flop_count(args) -> int:
    tile = args.tile or (64 if args.tiny else 1024)
    got = count_flops(tile, args.tiny)
    print(f"[diffusion_speed] denoising-loop FLOPs per {tile}-px tile ({'tiny' if args.tiny else 'real'} "
          f"architecture, 6 steps)")
    print(f"  counted by torch.utils.flop_counter: {got['counted'] / 1e12:.4f} TFLOP")
    print(f"  formula (livemoments.flops):        {got['formula'] / 1e12:.4f} TFLOP "
          f"({100 * got['relative_difference']:+.4f} %)")
    for name, value in got["parts"].items():
        if name != "total":
            print(f"    {name}: {value / 1e12:.4f} TFLOP")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(got, f, indent=2)
    return 0 if got["counted"] == got["formula"] else 1


def _print_row(row: dict) -> None:
    name = f"{row['dtype']}{' compiled' if row['compiled'] else ''}"
    if "error" in row:
        print(f"  {name}: FAILED ({row['error']})")
        return
    peak = f", peak {row['tile_peak_gb']:.2f} GB" if row.get("tile_peak_gb") is not None else ""
    print(f"  {name}: build {row['build_s']:.1f} s, warm-up {row['warmup_s']:.1f} s")
    print(f"    one tile, release-style (batch 1): {row['tile_s']:.3f} s/tile{peak}"
          f"{'' if row.get('tile_finite', True) else ', OUTPUT NOT FINITE (NaN/inf)'}")
    print(f"    denoising loop: {row['loop_tflops']:.3g} TFLOP/s = {100 * row['utilisation']:.0f} % of matmul "
          f"(target >= {100 * TARGET_UTILISATION:.0f} %)")
    if "image_s" in row:
        h, w = row["image_hw"]
        peak = f", peak {row['image_peak_gb']:.2f} GB" if row.get("image_peak_gb") is not None else ""
        print(f"    {h * w / 1e6:.2f} MP image ({row['image_tiles']} tiles): {row['image_s']:.2f} s "
              f"= {row['image_s_per_tile']:.3f} s/tile, {row['tile_s'] / row['image_s_per_tile']:.2f}x the "
              f"release-style s/tile (target {TARGET_12MP_S:.0f} s at 12 MP){peak}")


if __name__ == "__main__":
    sys.exit(main())
