"""Device, precision and memory-mode choice for the diffusion restorer (torch imported lazily).

CUDA runs in bfloat16 where the GPU supports it, else float16; MPS in float16; CPU in float32. The memory
mode is chosen from the free device memory: ``default`` keeps both transformers on the device; ``low``
offloads between the two branches (all reference keys/values of a batch first, then the main branch) and
tiles the VAE; ``lowest`` also parks those keys/values (0.65 GB per tile and step at the real size in half
precision) in host memory and brings back one step's at a time, so an 8 GB GPU works too (about 6.6 GB instead
of 9.9 GB for one tile; the price is ~4 GB of copies per tile over the bus). Out-of-memory is retried with
fewer tiles per batch, then in the low mode, then the lowest, then reported as a :class:`RestoreError`;
:func:`out_of_memory` decides what counts as out-of-memory.

CUDA (and XPU) allocation failures are ``torch.OutOfMemoryError`` and are recognised by type. Apple's MPS
allocator has no such type: it fails with ``TORCH_CHECK(false, "MPS backend out of memory ...")``
(aten/src/ATen/mps/MPSAllocator.mm), a plain ``RuntimeError``, and a single buffer above the device's
``maxBufferLength`` with ``"Invalid buffer size: ..."``; the CPU allocator, cuBLAS and raw CUDA calls outside the
caching allocator (a library handle, a workspace) likewise report allocation failures only in their message. So
those few fixed, allocator-written messages are matched as text -- anything else propagates unchanged.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, replace

GiB = 2**30
VAE_TILE_PX = 512            # the VAE's tile in the offloading modes (restorer.set_vae_tiling)

# Allocation failures torch reports as a plain RuntimeError, by the text its allocators and libraries write.
# Each one is worth a retry with fewer tiles per batch / offloading.
_DEVICE_OOM_TEXTS = (
    "MPS backend out of memory",                  # MPSAllocator.mm, both high-watermark branches
    "Invalid buffer size",                        # MPSAllocator.mm: one buffer above maxBufferLength
    "CUBLAS_STATUS_ALLOC_FAILED",                 # cuBLAS handle/workspace allocation
    "CUDA error: out of memory",                  # cudaErrorMemoryAllocation outside the caching allocator
)
_HOST_OOM_TEXTS = (
    "DefaultCPUAllocator: can't allocate memory",  # c10/core/impl/alloc_cpu.cpp
)


def out_of_memory(exc: BaseException) -> str | None:
    """"device" when ``exc`` is a GPU (CUDA/XPU/MPS) allocation failure, "host" when the computer's own memory
    ran out (``MemoryError`` or torch's CPU allocator), else None. Never imports torch: an exception from torch
    means torch is already loaded."""
    if isinstance(exc, MemoryError):
        return "host"
    torch = sys.modules.get("torch")
    oom_type = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    if oom_type is not None and isinstance(exc, oom_type):
        return "device"
    if not isinstance(exc, RuntimeError):
        return None
    text = str(exc)
    if any(t in text for t in _DEVICE_OOM_TEXTS):
        return "device"
    if any(t in text for t in _HOST_OOM_TEXTS):
        return "host"
    return None


def is_out_of_memory(exc: BaseException) -> bool:
    """True for any allocation failure :func:`out_of_memory` recognises (device or host)."""
    return out_of_memory(exc) is not None


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def diffusers_installed() -> bool:
    return importlib.util.find_spec("diffusers") is not None


MEMORY_MODES = ("default", "low", "lowest")
MODE_WORDS = {"default": "both branches on the device", "low": "offloading one branch at a time",
              "lowest": "offloading, reference keys/values in host memory"}


@dataclass(frozen=True)
class DevicePlan:
    device: str                  # "cuda:0", "mps", "cpu"
    dtype: str                   # "float16", "bfloat16", "float32"
    memory_mode: str             # "default" | "low" | "lowest" (see MEMORY_MODES)
    tiles_per_batch: int
    free_bytes: int | None       # free device memory when planned (None: unknown, e.g. CPU)
    reason: str = ""             # why this plan, for logs and the UI

    @property
    def offload(self) -> bool:
        return self.memory_mode in ("low", "lowest") and not self.device.startswith("cpu")

    @property
    def kv_on_host(self) -> bool:
        return self.memory_mode == "lowest" and not self.device.startswith("cpu")

    @property
    def vae_tiling(self) -> bool:
        return self.memory_mode in ("low", "lowest")

    def torch_dtype(self):
        import torch
        return getattr(torch, self.dtype)

    def smaller(self) -> "DevicePlan | None":
        """The next plan to try after running out of memory, or None when nothing smaller is left."""
        if self.tiles_per_batch > 1:
            return replace(self, tiles_per_batch=self.tiles_per_batch // 2, reason="retry after out-of-memory")
        following = MEMORY_MODES.index(self.memory_mode) + 1
        if following < len(MEMORY_MODES):
            mode = MEMORY_MODES[following]
            return replace(self, memory_mode=mode, reason=f"retry after out-of-memory: {MODE_WORDS[mode]}")
        return None


def accelerator() -> tuple[str | None, str]:
    """("cuda:0" | "mps" | None, words). Imports torch."""
    import torch

    if torch.cuda.is_available():
        return "cuda:0", torch.cuda.get_device_name(0)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps", "Apple GPU (MPS)"
    return None, "no CUDA/MPS device"


def free_memory(device: str) -> int | None:
    """Device memory the restorer may plan with, in bytes (None: unknown). What this process already holds there
    counts as available: it is the previous photo's models (reused or released by the next load) and the
    allocator's cache -- without that, a second photo on a 16 GB GPU would be planned as if the first one's
    weights were someone else's. On CUDA a per-process memory fraction (``torch.cuda.set_per_process_memory_
    fraction``) caps it, as the allocator will."""
    import torch

    if device.startswith("cuda"):
        dev = torch.device(device)
        free, total = torch.cuda.mem_get_info(dev)
        available = free + torch.cuda.memory_reserved(dev)
        get_fraction = getattr(torch.cuda, "get_per_process_memory_fraction", None)   # torch >= 2.8
        if get_fraction is not None:
            available = min(available, int(get_fraction(dev) * total))
        return int(available)
    if device == "mps":
        try:
            # Metal's working-set budget; every Metal allocation of this process is the restorer's own
            return int(torch.mps.recommended_max_memory())
        except (AttributeError, RuntimeError):
            return None
    return None


def default_dtype(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "float32"


@dataclass(frozen=True)
class MemoryNeeds:
    """Bytes the restorer needs, from the model sizes (see :func:`estimate_needs`)."""

    weights_main: int
    weights_ref: int
    weights_other: int           # VAE + motion encoder
    per_tile_step_kv: int        # captured reference keys/values of one tile for one step
    per_tile_work: int           # activations of one tile (transformer pass or VAE decode, the larger)
    steps: int
    per_tile_work_tiled: int = 0  # the same with the VAE working on 512-px tiles (the offloading modes)


def estimate_needs(params_main: int, params_ref: int, params_other: int, blocks: int, width: int,
                   image_tokens: int, text_tokens: int, tile: int, steps: int, itemsize: int) -> MemoryNeeds:
    seq = image_tokens + text_tokens
    kv = blocks * 2 * seq * width * itemsize
    transformer_act = 16 * 2 * seq * width * itemsize                     # residual streams, q/k/v, FF
    transformer_act += blocks * image_tokens * width * itemsize           # motion terms, kept through the loop
    vae_act = 6 * 128 * tile * tile * itemsize                            # a few full-resolution 128-ch maps
    vae_tiled = 6 * 128 * min(tile, VAE_TILE_PX) ** 2 * itemsize
    return MemoryNeeds(params_main * itemsize, params_ref * itemsize, params_other * itemsize,
                       kv, max(transformer_act, vae_act), steps, max(transformer_act, vae_tiled))


def choose_mode(free: int | None, needs: MemoryNeeds, max_batch: int = 4, margin: int = GiB) -> tuple[str, int]:
    """(memory mode, tiles per batch) that fit ``free`` bytes; raises ValueError when nothing fits."""
    if free is None:
        return "default", 1
    budget = free - margin
    both = needs.weights_main + needs.weights_ref + needs.weights_other
    for batch in range(max_batch, 0, -1):
        if both + batch * (needs.per_tile_step_kv + needs.per_tile_work) <= budget:
            return "default", batch
    one = max(needs.weights_main, needs.weights_ref) + needs.weights_other
    work = needs.per_tile_work_tiled or needs.per_tile_work
    for batch in range(max_batch, 0, -1):
        if one + batch * (needs.steps * needs.per_tile_step_kv + work) <= budget:
            return "low", batch
    # one step's keys/values on the device at a time, the others in host memory
    for batch in range(max_batch, 0, -1):
        if one + batch * (needs.per_tile_step_kv + work) <= budget:
            return "lowest", batch
    least = one + needs.per_tile_step_kv + work + margin
    raise ValueError(f"needs at least {least / GiB:.1f} GiB of device memory, {free / GiB:.1f} GiB free")


def plan(requested: str = "auto", dtype: str = "auto", memory_mode: str = "auto",
         needs: MemoryNeeds | None = None, tiles_per_batch: int | None = None) -> DevicePlan:
    """The device plan for a run. ``requested``: "auto" | "cuda" | "cuda:N" | "mps" | "cpu"."""
    import torch

    if requested == "auto":
        device, words = accelerator()
        device = device or "cpu"
    elif requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError("CUDA was requested but no CUDA device is available")
        device = requested if ":" in requested else "cuda:0"
        words = torch.cuda.get_device_name(torch.device(device))
    elif requested == "mps":
        if accelerator()[0] != "mps":
            raise ValueError("MPS was requested but no Apple GPU is available")
        device, words = "mps", "Apple GPU (MPS)"
    elif requested == "cpu":
        device, words = "cpu", "CPU"
    else:
        raise ValueError(f"unknown device {requested!r} (auto, cuda, mps, cpu)")
    dt = default_dtype(device) if dtype == "auto" else dtype
    if dt not in ("float16", "bfloat16", "float32"):
        raise ValueError(f"unknown dtype {dtype!r}")
    if memory_mode != "auto" and memory_mode not in MEMORY_MODES:
        raise ValueError(f"unknown memory mode {memory_mode!r} (auto, {', '.join(MEMORY_MODES)})")
    free = free_memory(device)
    if memory_mode == "auto" and needs is not None:
        mode, batch = choose_mode(free, needs)
    else:
        mode, batch = ("default" if memory_mode == "auto" else memory_mode), 1
    if tiles_per_batch:
        batch = tiles_per_batch
    return DevicePlan(device, dt, mode, batch, free, f"{words}; {dt}; memory mode {mode}")
