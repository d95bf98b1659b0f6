"""Random LiveMoments checkpoints in the released layout: tiny ones for tests, real-size ones for benchmarks.

``write_checkpoint(root, TINY)`` writes ``<root>/livemoments/...`` and ``<root>/sd3/...`` exactly like the
published folders (and the numerical fixture); ``random_models(REAL, device, dtype)`` builds the real SD3-medium
sized architecture in memory with random weights (no download), for speed and memory measurements;
``textured_pair(frame_px)`` is a still and a frame to run them on.
Initialisation follows the fixture's recipe: Linear/Conv weights ~ N(0, 1/fan_in), norm weights ~ 1 + N(0, 0.02),
everything else ~ N(0, 0.02), so every part (including ``point_proj``) changes the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import files, loader, schedule
from .motion import MotionEncoder


@dataclass(frozen=True)
class Spec:
    transformer: dict
    vae: dict
    motion_stem: tuple[int, ...]
    motion_blocks: int
    text_tokens: int
    scheduler: dict = field(default_factory=lambda: dict(SCHEDULER))


SCHEDULER = {"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 3.0,
             "use_dynamic_shifting": False, "base_shift": 0.5, "max_shift": 1.15, "base_image_seq_len": 256,
             "max_image_seq_len": 4096, "invert_sigmas": False, "shift_terminal": None,
             "use_karras_sigmas": False, "use_exponential_sigmas": False, "use_beta_sigmas": False}

_VAE_COMMON = {"in_channels": 3, "out_channels": 3, "latent_channels": 16, "layers_per_block": 2,
               "act_fn": "silu", "down_block_types": ["DownEncoderBlock2D"] * 4,
               "up_block_types": ["UpDecoderBlock2D"] * 4, "scaling_factor": 1.5305, "shift_factor": 0.0609,
               "use_quant_conv": False, "use_post_quant_conv": False, "mid_block_add_attention": True,
               "force_upcast": True, "latents_mean": None, "latents_std": None}

TINY = Spec(
    transformer={"sample_size": 32, "patch_size": 2, "in_channels": 16, "num_layers": 2, "attention_head_dim": 16,
                 "num_attention_heads": 2, "joint_attention_dim": 32, "caption_projection_dim": 32,
                 "pooled_projection_dim": 32, "out_channels": 16, "pos_embed_max_size": 96},
    vae={**_VAE_COMMON, "block_out_channels": [8, 8, 16, 16], "norm_num_groups": 4, "sample_size": 64},
    motion_stem=(8, 16, 32, 32), motion_blocks=11, text_tokens=13)

REAL = Spec(
    transformer={"sample_size": 128, "patch_size": 2, "in_channels": 16, "num_layers": 24,
                 "attention_head_dim": 64, "num_attention_heads": 24, "joint_attention_dim": 4096,
                 "caption_projection_dim": 1536, "pooled_projection_dim": 2048, "out_channels": 16,
                 "pos_embed_max_size": 192},
    vae={**_VAE_COMMON, "block_out_channels": [128, 256, 512, 512], "norm_num_groups": 32, "sample_size": 1024},
    motion_stem=(512, 1024, 1536, 1536), motion_blocks=11, text_tokens=333)


def randomize(module: nn.Module, gen: torch.Generator) -> None:
    """The fixture's initialisation recipe (in place; buffers such as the sin-cos table are kept)."""
    with torch.no_grad():
        for m in module.modules():
            for name, p in m.named_parameters(recurse=False):
                shape = p.shape
                dev = gen.device
                if isinstance(m, (nn.Linear, nn.Conv2d)) and name == "weight":
                    fan_in = shape[1] * (shape[2] * shape[3] if p.ndim == 4 else 1)
                    v = torch.randn(shape, generator=gen, device=dev) / fan_in ** 0.5
                elif isinstance(m, (nn.LayerNorm, nn.GroupNorm)) and name == "weight":
                    v = 1 + 0.02 * torch.randn(shape, generator=gen, device=dev)
                else:
                    v = 0.02 * torch.randn(shape, generator=gen, device=dev)
                p.copy_(v.to(p.dtype))


def _to(model, device, dtype):
    model = model.to(device=device)
    return model if dtype == torch.float32 else model.to(dtype=dtype)


def _vae(spec: Spec):
    from diffusers import AutoencoderKL
    return AutoencoderKL.from_config({k: v for k, v in spec.vae.items() if not k.startswith("_")})


def random_models(spec: Spec, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                  seed: int = 0) -> loader.LiveMomentsModels:
    """The whole model set with random weights, in memory, on ``device`` (built and initialised there, so a
    real-size set on a GPU takes seconds; on the CPU the same seed always gives the same weights). On ``meta``
    nothing is allocated or initialised: shapes only, e.g. to count FLOPs (:mod:`flops`)."""
    dev = torch.device(device)
    meta = dev.type == "meta"
    gen = None if meta else torch.Generator(device=dev).manual_seed(seed)
    init = (lambda _m: None) if meta else (lambda m: randomize(m, gen))
    parts = []
    with dev:
        for fused in (True, False):
            model = loader.build_transformer(spec.transformer, fused)
            init(model)
            parts.append(_to(model, dev, dtype).eval().requires_grad_(False))
        width = spec.transformer["num_attention_heads"] * spec.transformer["attention_head_dim"]
        if spec.motion_stem[-1] != width:
            raise ValueError("the motion encoder must end at the transformer width")
        motion = MotionEncoder(list(spec.motion_stem), num_blocks=spec.motion_blocks)
        init(motion)
        vae = _vae(spec)
        init(vae)
    if meta:
        prompt = torch.empty(1, spec.text_tokens, spec.transformer["joint_attention_dim"], device=dev)
        pooled = torch.empty(1, spec.transformer["pooled_projection_dim"], device=dev)
    else:
        prompt = torch.randn(1, spec.text_tokens, spec.transformer["joint_attention_dim"], generator=gen, device=dev)
        pooled = torch.randn(1, spec.transformer["pooled_projection_dim"], generator=gen, device=dev)
    return loader.LiveMomentsModels(
        transformer=parts[0], transformer_ref=parts[1], motion_encoder=motion.to(dev, dtype).eval(),
        vae=_to(vae, dev, dtype).eval().requires_grad_(False), schedule=schedule.schedule_from_config(spec.scheduler),
        prompt_embeds=prompt.to(dev, dtype), pooled_prompt_embeds=pooled.to(dev, dtype), dtype=dtype, device=dev)


def write_checkpoint(root: str | Path, spec: Spec = TINY, seed: int = 0) -> Path:
    """Writes a random checkpoint in the released on-disk layout under ``root``; returns ``root``."""
    from safetensors.torch import save_file

    root = Path(root)
    models = random_models(spec, "cpu", torch.float32, seed)
    lm, sd3 = root / "livemoments", root / "sd3"
    for sub, model, cls in (("transformer", models.transformer, "SD3TransformerFuseMotion2DModel"),
                            ("transformer_ref", models.transformer_ref, "SD3Transformer2DModel")):
        folder = lm / sub
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps({"_class_name": cls, "_diffusers_version": "0.32.2",
                                                        **spec.transformer}, indent=2))
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  str(folder / files.WEIGHTS))
    torch.save(models.motion_encoder.state_dict(), lm / "motion_encoder.pt")
    torch.save(models.prompt_embeds.clone(), lm / "prompt_embeds.pt")
    torch.save(models.pooled_prompt_embeds.clone(), lm / "pooled_prompt_embeds.pt")
    models.vae.save_pretrained(str(sd3 / "vae"), safe_serialization=True)
    (sd3 / "scheduler").mkdir(parents=True, exist_ok=True)
    (sd3 / "scheduler" / "scheduler_config.json").write_text(json.dumps(spec.scheduler, indent=2))
    return root


class RandomWeights:
    """A model source for ``LiveMomentsRestorer(source=...)``: random weights of ``spec`` instead of files, so
    the whole restorer (planning, loading, out-of-memory retries, offloading) runs at the real size with no
    download. :meth:`park` builds the set once (on ``build_device``, fast on a GPU) and keeps it in RAM; each
    load then only moves it, like loading files would."""

    def __init__(self, spec: Spec, seed: int = 0, build_device: str = "cpu"):
        self.spec, self.seed, self.build_device = spec, seed, build_device
        self.key = ("random", id(self))
        self.where = f"random weights ({'real size' if spec == REAL else 'tiny'}, seed {seed})"
        self._parked: loader.LiveMomentsModels | None = None

    def needs(self, tile: int, dtype: str, device: str):
        from livemoments_app.core.restore import devices

        shapes = random_models(self.spec, "meta")
        count = lambda *ms: sum(p.numel() for m in ms for p in m.parameters())  # noqa: E731
        cfg = self.spec.transformer
        itemsize = 4 if dtype == "float32" or device == "cpu" else 2
        return devices.estimate_needs(count(shapes.transformer), count(shapes.transformer_ref),
                                      count(shapes.vae, shapes.motion_encoder), cfg["num_layers"],
                                      cfg["num_attention_heads"] * cfg["attention_head_dim"],
                                      (tile // shapes.token_factor) ** 2, self.spec.text_tokens, tile,
                                      shapes.schedule.steps, itemsize)

    def park(self, dtype: torch.dtype) -> None:
        """Builds the weights now and keeps them in RAM (before a memory cap is set, say)."""
        models = random_models(self.spec, self.build_device, dtype, self.seed)
        self._parked = models.move_to("cpu")
        if torch.device(self.build_device).type == "cuda":
            torch.cuda.empty_cache()

    def load(self, device: str, dtype: torch.dtype) -> loader.LiveMomentsModels:
        if self._parked is None or self._parked.dtype != dtype:
            self.park(dtype)
        return self._parked.move_to(device)


def textured_pair(frame_px: int, seed: int = 0):
    """(still, frame), uint8 RGB: a textured square still twice the frame's side, and the frame, which is the
    still shrunk to half and shifted by (3, 2) frame pixels -- a pair that aligns cleanly, for running a
    checkpoint end to end."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    side = 2 * frame_px
    still = cv2.resize((rng.random((side // 8, side // 8, 3)) * 255).astype(np.uint8), (side, side),
                       interpolation=cv2.INTER_CUBIC)
    for _ in range(max(30, side // 10)):
        x, y = (int(v) for v in rng.integers(0, side - 20, 2))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(still, (x, y), (x + side // 20, y + side // 30), colour, -1)
    frame = cv2.warpAffine(still, np.float32([[0.5, 0, 3], [0, 0.5, 2]]), (frame_px, frame_px),
                           flags=cv2.INTER_AREA)
    return still, frame


__all__ = ["Spec", "TINY", "REAL", "RandomWeights", "random_models", "write_checkpoint", "randomize",
           "textured_pair"]
