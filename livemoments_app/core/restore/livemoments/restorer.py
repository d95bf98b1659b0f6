"""``LiveMomentsRestorer``: the diffusion restorer behind the app's Restorer protocol.

Options (``RestoreRequest.options``): ``models`` (folder), ``model_paths`` (dict overriding single paths, see
:class:`ModelPaths`), ``seed`` (42, the release's), ``tile`` (1024) and ``overlap`` (64), ``memory``
("auto" | "default" | "low" | "lowest", see :mod:`..devices`), ``dtype`` ("auto" | "float16" | "bfloat16" | "float32"), ``tiles_per_batch``,
``compile`` (False: regional torch.compile of the transformer blocks; on an H200 it gained nothing, 0.60 vs
0.58 s a tile after 11 s of compiling, docs/models.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from livemoments_app.core.errors import ModelFilesError, RestoreError
from livemoments_app.core.jobs import Progress
from livemoments_app.core.restore import devices
from livemoments_app.core.restore.base import Availability, RestoredImage, RestoreRequest

from . import extras, flops
from .files import problems_in
from .paths import ModelPaths, default_root

NAME = "livemoments"
DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 64
DEFAULT_SEED = 42
_CPU_FLOPS_GUESS = 2e11     # used only when nothing was measured: a fast desktop CPU in float32

_cache_lock = threading.Lock()
_cache: dict = {}           # one loaded model set: {"key": ..., "models": ...}


def resolve_paths(options: dict) -> ModelPaths:
    root = options.get("models") or default_root()
    return ModelPaths.from_root(root).with_overrides(**(options.get("model_paths") or {}))


def unload() -> None:
    """Forgets the loaded weights (e.g. when the models folder changed in the settings)."""
    with _cache_lock:
        _cache.clear()


def _not_installed(module: str) -> str:
    # A bundle user cannot install an extra into the app; tell them what the app lacks and where to look.
    if extras.frozen():
        text = extras.how_to_get_them()
        return text[0].upper() + text[1:]
    return f"{module} not installed (install the 'diffusion' extra)"


class _Files:
    """Where the models normally come from: the released weight files. A restorer can be given another source
    with the same four members (``key``, ``where``, ``needs``, ``load``), e.g. :class:`tiny.RandomWeights`."""

    def __init__(self, paths: ModelPaths):
        self.paths = paths
        self.key = ("files", tuple(paths.items()))
        self.where = str(paths.transformer.parent)

    def needs(self, tile: int, dtype: str, device: str) -> devices.MemoryNeeds | None:
        return _needs(self.paths, tile, dtype, device)

    def load(self, device: str, dtype):
        from . import loader

        return loader.load_models(self.paths, device, dtype)


class LiveMomentsRestorer:
    name = NAME
    label = "LiveMoments (diffusion)"

    def __init__(self, paths: ModelPaths | None = None, source=None):
        """``source``: models from somewhere other than weight files (see :class:`_Files`); benchmarks and the
        GPU check use random real-size weights this way."""
        self._paths = paths
        self._source = source

    # ----- availability
    def availability(self, options: dict | None = None) -> Availability:
        if not devices.torch_installed():
            return Availability(False, _not_installed("torch"))
        if not devices.diffusers_installed():
            return Availability(False, _not_installed("diffusers"))
        problems = problems_in(self._paths or resolve_paths(options or {})) if self._source is None else []
        if problems:
            return Availability(False, f"weights not found — Settings › Models ({len(problems)} problem(s), "
                                       f"first: {problems[0]})")
        device, words = devices.accelerator()
        if device is None:
            return Availability(False, "no CUDA/MPS device (CPU is possible but very slow: "
                                       f"{cpu_estimate_text()})")
        return Availability(True, words)

    # ----- restore
    def restore(self, request: RestoreRequest, progress: Progress) -> RestoredImage:
        started = time.monotonic()
        opts = dict(request.options)
        if not devices.torch_installed() or not devices.diffusers_installed():
            raise RestoreError(f"the LiveMoments restorer needs torch and diffusers; {extras.how_to_get_them()}")
        if self._source is not None:
            source = self._source
        else:
            paths = (self._paths.with_overrides(**(opts.get("model_paths") or {})) if self._paths
                     else resolve_paths(opts))
            problems = problems_in(paths)
            if problems:
                raise ModelFilesError("LiveMoments weights are missing — Settings › Models:\n  " +
                                      "\n  ".join(problems))
            source = _Files(paths)
        tile, overlap = int(opts.get("tile", DEFAULT_TILE)), int(opts.get("overlap", DEFAULT_OVERLAP))
        seed = int(opts.get("seed", DEFAULT_SEED))

        from . import inputs as inputs_mod

        progress.set(0.0, "Loading LiveMoments weights")
        plan = self._plan(request, opts, source, tile)
        models, plan = self._load_or_offload(source, plan, bool(opts.get("compile", False)))
        self._check_tile(models, tile, overlap)
        progress.set(0.08, "Preparing reference and flows")
        scale = request.scale if request.scale is not None else request.alignment.default_scale
        full = inputs_mod.build(request.still, request.frame, request.alignment, scale)
        tiled = inputs_mod.tile_inputs(full, tile, overlap)
        n = len(tiled.origins)
        estimate = None
        if plan.device == "cpu":
            estimate = n * _tile_flops(models, tile) / measured_cpu_flops()
            progress.set(0.09, f"On the CPU: about {_duration(estimate)} for {n} tile(s)")
        tile_progress = progress.sub(0.1, 0.85)

        while True:
            try:
                decoded = self._all_tiles(models, plan, tiled, seed, tile_progress)
                break
            except Exception as exc:
                kind = devices.out_of_memory(exc)
                if kind is None:
                    raise
            # Freed after the except clause: until it ends, the traceback keeps the failed batch's tensors alive.
            free_device(plan.device)
            smaller = plan.smaller()
            if smaller is None:
                raise RestoreError(_out_of_memory_text(plan, kind))
            plan = smaller
            progress.set(0.1, f"Out of memory: retrying with {plan.tiles_per_batch} tile(s) per batch, "
                              f"memory mode {plan.memory_mode}")
        progress.set(0.95, "Blending tiles and fixing colour")
        pixels = finish_anywhere(decoded, tiled, full.lq01, request.still.dtype, plan.device)
        progress.set(1.0, "Done")
        return RestoredImage(pixels=pixels, restorer=NAME, elapsed_s=time.monotonic() - started,
                             info={"device": plan.device, "dtype": plan.dtype, "memory_mode": plan.memory_mode,
                                   "tiles": n, "tiles_per_batch": plan.tiles_per_batch, "seed": seed,
                                   "tile": tile, "overlap": overlap, "scale": scale,
                                   "models": source.where, "cpu_estimate_s": estimate},
                             # the model attends to the reference everywhere; what it can take from it is where
                             # the alignment holds
                             from_key=np.clip(np.asarray(request.alignment.confidence, np.float32), 0.0, 1.0))

    # ----- pieces
    def _plan(self, request: RestoreRequest, opts: dict, source, tile: int) -> devices.DevicePlan:
        try:
            needs = source.needs(tile, opts.get("dtype", "auto"), request.device)
            return devices.plan(request.device, opts.get("dtype", "auto"), opts.get("memory", "auto"), needs,
                                opts.get("tiles_per_batch"))
        except ValueError as exc:
            raise RestoreError(f"LiveMoments cannot run here: {exc}") from None

    def _load_or_offload(self, source, plan: devices.DevicePlan, want_compiled: bool):
        """Loads for ``plan``; when the weights do not fit on the device, loads for the low-memory mode instead."""
        attempts = [plan]
        if plan.memory_mode == "default":
            attempts.append(replace(plan, memory_mode="low", tiles_per_batch=1,
                                    reason="weights did not fit: offloading"))
        for attempt in attempts:
            try:
                return self._load(source, attempt, want_compiled), attempt
            except Exception as exc:
                kind = devices.out_of_memory(exc)
                if kind is None:
                    raise
            # after the except clause: its traceback would keep the half-loaded tensors alive
            unload()
            free_device(plan.device)
            if kind == "host":
                raise RestoreError(_LOAD_HOST_TEXT)
        raise RestoreError(f"the LiveMoments weights do not fit in {plan.device} memory"
                           + (", even offloading one branch at a time" if len(attempts) > 1 else ""))

    def _load(self, source, plan: devices.DevicePlan, want_compiled: bool = False):
        key = (source.key, plan.device if not plan.offload else "cpu", plan.dtype)
        with _cache_lock:
            if _cache.get("key") == key:
                models = _cache["models"]
            else:
                _cache.clear()
                models = source.load("cpu" if plan.offload else plan.device, plan.torch_dtype())
                _cache.update(key=key, models=models)
        set_vae_tiling(models.vae, plan.vae_tiling)
        if want_compiled and not getattr(models, "compiled", False):
            compile_blocks(models)
        return models

    @staticmethod
    def _check_tile(models, tile: int, overlap: int) -> None:
        f = models.token_factor
        limit = models.transformer.config.pos_embed_max_size * f
        if tile % f or tile > limit or not 0 <= overlap < tile:
            raise RestoreError(f"tile {tile} px / overlap {overlap} px do not fit this model "
                               f"(multiple of {f} px, at most {limit} px, overlap smaller than the tile)")

    def _all_tiles(self, models, plan: devices.DevicePlan, tiled, seed: int, progress: Progress) -> list[np.ndarray]:
        import torch

        dev = torch.device(plan.device)
        offload = _Offloader(models, dev) if plan.offload else None
        if offload is None:
            models.move_to(dev)
        return sample_all_tiles(models, tiled, seed, plan.tiles_per_batch, progress,
                                offload=offload.use if offload else None,
                                kv_home="cpu" if plan.kv_on_host else None)


def sample_all_tiles(models, tiled, seed: int, tiles_per_batch: int, progress: Progress | None = None,
                     offload=None, kv_home=None) -> list[np.ndarray]:
    """Every tile of ``tiled`` through :func:`sampler.sample_tiles`, ``tiles_per_batch`` at a time, the noise
    drawn from one generator seeded with ``seed``; the decoded tiles (T x T x 3, in [-1, 1]) in tile order."""
    import torch

    from . import sampler

    progress = progress or Progress()
    n = len(tiled.origins)
    latent = models.vae.config.latent_channels
    lh = tiled.tile // models.latent_factor
    gen = torch.Generator().manual_seed(seed)
    out: list[np.ndarray] = []
    batch = max(1, tiles_per_batch)
    for start in range(0, n, batch):
        ks = list(range(start, min(n, start + batch)))
        arrays = [tiled.tile_arrays(k) for k in ks]
        lq, ref, flow = (torch.from_numpy(np.stack([a[i] for a in arrays])).permute(0, 3, 1, 2) for i in range(3))
        lq = (lq * 2 - 1).clamp(-1, 1)
        ref = (ref * 2 - 1).clamp(-1, 1)
        noise = sampler.TileNoise.draw(len(ks), (latent, lh, lh), gen)

        def on_step(k: int, steps: int, ks=ks) -> None:
            done = (ks[0] + (k + 1) / steps * len(ks)) / n
            progress.set(done, f"Tile {ks[-1] + 1}/{n}, step {k + 1}/{steps}")

        progress.set(start / n, f"Tile {ks[-1] + 1}/{n}: encoding")
        decoded = sampler.sample_tiles(models, lq, ref, flow, noise, on_step=on_step,
                                       stop_early=not getattr(models, "compiled", False),
                                       offload=offload, kv_home=kv_home)
        out += [d.permute(1, 2, 0).cpu().numpy() for d in decoded]
    return out


class _Offloader:
    """Keeps one transformer on the device at a time (model offload between the two branches); the VAE, the
    motion encoder and the prompt embeddings are small and stay on the device."""

    def __init__(self, models, device):
        self.models, self.device, self.resident = models, device, None
        # after an out-of-memory retry both transformers may still be on the device
        models.transformer.to("cpu")
        models.transformer_ref.to("cpu")
        free_device(str(device))
        models.move_to(device, transformers=False)

    def use(self, name: str) -> None:
        parts = {"transformer": self.models.transformer, "transformer_ref": self.models.transformer_ref}
        if name not in parts or name == self.resident:
            return
        if self.resident is not None:
            parts[self.resident].to("cpu")
            free_device(str(self.device))
        parts[name].to(self.device)
        self.resident = name


def compile_blocks(models) -> None:
    """Regional torch.compile of every transformer block (identical blocks share compiled code). Measured on an
    H200 it did not pay off (the loop is already at 48 % of the matmul rate, and dynamo recompiles for the K/V
    capture hooks until its limit), so it stays an option, off by default."""
    for tr in (models.transformer, models.transformer_ref):
        for block in tr.transformer_blocks:
            block.compile()
    models.compiled = True


def set_vae_tiling(vae, on: bool, tile_px: int = devices.VAE_TILE_PX) -> None:
    """The VAE always encodes/decodes one batch item at a time (slicing: same numbers, a quarter of the peak
    memory of a batch of four 1024-px tiles); the low-memory mode also makes it work on overlapping 512-px tiles."""
    vae.enable_slicing()
    if on:
        vae.enable_tiling()
        vae.tile_sample_min_size = min(vae.config.sample_size, tile_px)
        vae.tile_latent_min_size = vae.tile_sample_min_size // 2 ** (len(vae.config.block_out_channels) - 1)
    else:
        vae.disable_tiling()


_LOAD_HOST_TEXT = ("not enough memory to load the LiveMoments weights (about 9 GB of RAM in half precision, 17 GB "
                   "in float32); close other programs and try again")


def _out_of_memory_text(plan: devices.DevicePlan, kind: str) -> str:
    """The final out-of-memory message, once nothing smaller is left to try."""
    how = "one tile at a time and offloading between the two models" if plan.offload else "one tile at a time"
    if kind == "host":
        return (f"out of memory (RAM) even with {how}; close other programs, or restore at a smaller output "
                "scale")
    return (f"out of {plan.device} memory even with {how}; close other programs that use the GPU, or restore at "
            "a smaller output scale")


def free_device(device: str) -> None:
    """Collects garbage and returns the allocator's cached blocks on ``device`` (CUDA, MPS) to the system."""
    import gc

    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    elif device == "mps":
        torch.mps.empty_cache()


def finish_anywhere(decoded: list[np.ndarray], tiled, lq01: np.ndarray, dtype, device: str) -> np.ndarray:
    """:func:`finish` on ``device``, or on the CPU when the device is out of memory (the colour fix of a 12 MP
    image needs a few GB next to the resident weights); a RestoreError when the RAM is short too."""
    for where in dict.fromkeys((device, "cpu")):
        try:
            return finish(decoded, tiled, lq01, dtype, where)
        except Exception as exc:
            if devices.out_of_memory(exc) is None:
                raise
        free_device(where)     # after the except clause, which kept the failed attempt's tensors alive
    raise RestoreError("out of memory (RAM) while blending the restored tiles; close other programs, or restore "
                       "at a smaller output scale")


def finish(decoded: list[np.ndarray], tiled, lq01: np.ndarray, dtype, device: str = "cpu") -> np.ndarray:
    """Stitches decoded tiles (in [-1, 1]) with the C² weight and applies the release's colour fix."""
    import torch

    from livemoments_app.core.align import tiles as tiling

    from .colorfix import color_fix_u8, wavelet_color_fix

    stitched = tiling.stitch_tiles(decoded, tiled.origins, tiled.tile, tiled.size, tiling.c2_weight(tiled.tile))
    result = torch.from_numpy(np.ascontiguousarray(stitched.transpose(2, 0, 1)))[None].to(device)
    source = torch.from_numpy(np.ascontiguousarray(lq01.transpose(2, 0, 1)))[None].to(device)
    if dtype == np.uint8:
        return np.ascontiguousarray(color_fix_u8(result, source)[0].transpose(1, 2, 0))
    fixed = wavelet_color_fix(torch.clamp(0.5 * result.clamp(-1, 1) + 0.5, 0, 1), source)[0].cpu().numpy()
    peak = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 1.0
    out = np.round(fixed.transpose(1, 2, 0) * peak) if peak != 1.0 else fixed.transpose(1, 2, 0)
    return np.ascontiguousarray(out.astype(dtype))


def _needs(paths: ModelPaths, tile: int, dtype: str, device: str) -> devices.MemoryNeeds | None:
    """Memory needs from the configs and the weight headers (no weights loaded)."""
    import json

    from .files import safetensors_header, weight_files

    try:
        cfg = json.loads((paths.transformer / "config.json").read_text())
        vae_cfg = json.loads((paths.vae / "config.json").read_text())

        def params(folder: Path) -> int:
            total = 0
            for f in weight_files(folder)[0]:
                for v in safetensors_header(f).values():
                    total += int(np.prod(v["shape"]))
            return total

        width = cfg["num_attention_heads"] * cfg["attention_head_dim"]
        factor = 2 ** (len(vae_cfg["block_out_channels"]) - 1) * cfg["patch_size"]
        itemsize = 4 if dtype == "float32" or device == "cpu" else 2
        motion_params = paths.motion_encoder.stat().st_size // 4
        return devices.estimate_needs(params(paths.transformer), params(paths.transformer_ref),
                                      params(paths.vae) + motion_params, cfg["num_layers"], width,
                                      (tile // factor) ** 2, 333, tile, 6, itemsize)
    except (OSError, ValueError, KeyError):
        return None


def _tile_flops(models, tile: int) -> float:
    return flops.loop_flops(flops.shape_of(models, tile))


_measured: dict[str, float] = {}


def measured_cpu_flops() -> float:
    """float32 matmul FLOP/s of this CPU, measured once (about 0.1 s); the basis of the CPU time estimate."""
    if "cpu" not in _measured:
        import torch

        a = torch.randn(512, 512)
        a @ a
        t = time.perf_counter()
        for _ in range(8):
            a @ a
        _measured["cpu"] = 8 * 2 * 512**3 / max(time.perf_counter() - t, 1e-6)
    return _measured["cpu"]


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def cpu_estimate_text(flops_per_second: float = _CPU_FLOPS_GUESS) -> str:
    per_tile = flops.loop_flops(flops.LoopShape(blocks=24, width=1536, image_tokens=4096, text_tokens=333)) / \
        flops_per_second
    return f"roughly {per_tile / 60:.0f} min per 1024-px tile, a 12 MP photo has about 20 tiles"
