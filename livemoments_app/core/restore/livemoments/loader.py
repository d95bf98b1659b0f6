"""Loading the released LiveMoments checkpoint onto a device, with one clear error for every problem.

Architecture sizes come from the configs and the state dicts, never from constants: the two transformers
are diffusers ``SD3Transformer2DModel`` built from their ``config.json`` (the main one with the LiveMoments
attention processors installed before its weights are loaded strictly), the motion encoder is sized from
its state dict, and the VAE is diffusers' ``AutoencoderKL``. ``.pt`` files are read with
``torch.load(..., weights_only=True)``: no arbitrary unpickling.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from livemoments_app.core.errors import ModelFilesError

from . import attention, schedule
from .motion import MotionEncoder
from .paths import ModelPaths
from .files import problems_in, weight_files


@dataclass
class LiveMomentsModels:
    transformer: torch.nn.Module        # main branch (LiveMoments processors)
    transformer_ref: torch.nn.Module    # reference branch (plain SD3)
    motion_encoder: MotionEncoder
    vae: torch.nn.Module
    schedule: schedule.Schedule
    prompt_embeds: torch.Tensor         # (1, L, joint_attention_dim)
    pooled_prompt_embeds: torch.Tensor  # (1, pooled_projection_dim)
    dtype: torch.dtype
    device: torch.device
    compiled: bool = False              # transformer blocks wrapped by torch.compile

    @property
    def latent_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def token_factor(self) -> int:
        return self.latent_factor * self.transformer.config.patch_size

    def move_to(self, device: str | torch.device, transformers: bool = True) -> "LiveMomentsModels":
        """Moves the models and the prompt embeddings to ``device`` (the two transformers only with
        ``transformers``: the offloading modes move those one at a time); returns self."""
        parts = [self.motion_encoder, self.vae]
        if transformers:
            parts = [self.transformer, self.transformer_ref, *parts]
        for m in parts:
            m.to(device)
        self.prompt_embeds = self.prompt_embeds.to(device)
        self.pooled_prompt_embeds = self.pooled_prompt_embeds.to(device)
        self.device = torch.device(device)
        return self


def dtype_kwargs(dtype) -> dict:
    """``from_pretrained``'s dtype argument: ``dtype`` in recent diffusers, ``torch_dtype`` before (0.32.x)."""
    try:
        from diffusers.utils import deprecation_utils
        if hasattr(deprecation_utils, "_resolve_dtype"):
            return {"dtype": dtype}
    except ImportError:
        pass
    return {"torch_dtype": dtype}


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def load_safetensors(folder: Path, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """All tensors of a diffusers weight folder, converted to ``dtype`` one at a time (low peak memory)."""
    from safetensors import safe_open

    state = {}
    for file in weight_files(Path(folder))[0]:
        with safe_open(str(file), framework="pt", device="cpu") as f:
            for key in f.keys():
                state[key] = f.get_tensor(key).to(dtype)
    return state


def _transformer_config(config: dict) -> dict:
    from diffusers import SD3Transformer2DModel

    accepted = set(inspect.signature(SD3Transformer2DModel.__init__).parameters) - {"self"}
    unknown = {k for k in config if not k.startswith("_") and k not in accepted}
    if unknown:
        raise ValueError(f"config has options this diffusers does not know: {', '.join(sorted(unknown))}")
    if config.get("qk_norm") or config.get("dual_attention_layers"):
        raise ValueError("qk_norm / dual attention layers (SD3.5) are not part of the LiveMoments architecture")
    return {k: v for k, v in config.items() if k in accepted}


def build_transformer(config: dict, fused: bool, meta: bool = False):
    """An SD3 transformer from a config dict; ``fused`` installs the LiveMoments processors."""
    from diffusers import SD3Transformer2DModel

    cfg = _transformer_config(config)
    if meta:
        with torch.device("meta"):
            model = SD3Transformer2DModel.from_config(cfg)
    else:
        model = SD3Transformer2DModel.from_config(cfg)
    if fused:
        attention.install_processors(model)
    return model


def _state_dict_problems(model: torch.nn.Module, state: dict[str, torch.Tensor], where: Path) -> list[str]:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    out = []

    def listing(keys: list[str]) -> str:
        return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")

    if missing:
        out.append(f"{where}: {len(missing)} weight(s) missing: {listing(missing)}")
    if unexpected:
        out.append(f"{where}: {len(unexpected)} unexpected weight(s): {listing(unexpected)}")
    if shapes:
        out.append(f"{where}: shape mismatch for {listing(shapes)} "
                   f"(e.g. {tuple(state[shapes[0]].shape)} vs {tuple(expected[shapes[0]].shape)})")
    return out


def load_transformer(folder: Path, fused: bool, dtype: torch.dtype, problems: list[str]):
    folder = Path(folder)
    try:
        config = read_json(folder / "config.json")
        model = build_transformer(config, fused, meta=True)
    except (OSError, ValueError, TypeError) as exc:
        problems.append(f"{folder / 'config.json'}: {exc}")
        return None
    state = load_safetensors(folder, dtype)
    found = _state_dict_problems(model, state, folder)
    if found:
        problems += found
        return None
    model.load_state_dict(state, strict=True, assign=True)
    left = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if left:
        problems.append(f"{folder}: weights not provided for {', '.join(left[:5])}")
        return None
    return model.eval().requires_grad_(False)


def load_motion_encoder(path: Path, dtype: torch.dtype, problems: list[str], width: int | None):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise ValueError("not a state dict")
        enc = MotionEncoder.from_state_dict(state)
    except Exception as exc:  # a torch.load / structure failure of one user file: report it with the others
        problems.append(f"{path}: cannot load the motion encoder ({exc})")
        return None
    if width is not None and enc.out_channels != width:
        problems.append(f"{path}: motion encoder gives {enc.out_channels} channels, the transformer is {width} wide")
        return None
    return enc.to(dtype).eval().requires_grad_(False)


def load_prompt_embeds(path: Path, ndim: int, width: int | None, problems: list[str]):
    try:
        t = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(t, torch.Tensor):
            raise ValueError("not a tensor")
    except Exception as exc:
        problems.append(f"{path}: cannot load ({exc})")
        return None
    # the release squeezes the stored tensor and its collate function stacks it back into a batch of one
    t = t.squeeze().unsqueeze(0)
    if t.ndim != ndim or (width is not None and t.shape[-1] != width):
        problems.append(f"{path}: shape {tuple(t.shape)} does not fit the transformer (last dim {width})")
        return None
    return t


def load_vae(folder: Path, dtype: torch.dtype, problems: list[str]):
    from diffusers import AutoencoderKL

    try:
        vae = AutoencoderKL.from_pretrained(str(folder), low_cpu_mem_usage=False, **dtype_kwargs(dtype))
    except (OSError, ValueError, RuntimeError) as exc:
        problems.append(f"{folder}: cannot load the VAE ({str(exc).splitlines()[0]})")
        return None
    return vae.eval().requires_grad_(False)


def load_models(paths: ModelPaths, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32) -> LiveMomentsModels:
    """Loads everything; raises one :class:`ModelFilesError` listing every missing or mismatched file."""
    problems = problems_in(paths)
    if problems:
        raise ModelFilesError("LiveMoments model files are missing or incomplete:\n  " + "\n  ".join(problems))
    transformer = load_transformer(paths.transformer, True, dtype, problems)
    transformer_ref = load_transformer(paths.transformer_ref, False, dtype, problems)
    ref_cfg = transformer_ref.config if transformer_ref is not None else None
    if transformer is not None and ref_cfg is not None:
        a = {k: transformer.config[k] for k in ("num_layers", "num_attention_heads", "attention_head_dim")}
        b = {k: ref_cfg[k] for k in a}
        if a != b:
            problems.append(f"{paths.transformer} and {paths.transformer_ref} have different architectures: {a} vs {b}")
    cfg = (transformer or transformer_ref).config if (transformer or transformer_ref) is not None else None
    width = cfg.num_attention_heads * cfg.attention_head_dim if cfg is not None else None
    motion = load_motion_encoder(paths.motion_encoder, dtype, problems, width)
    if motion is not None and cfg is not None and motion.num_embeddings < cfg.num_layers:
        problems.append(f"{paths.motion_encoder}: {motion.num_embeddings} embeddings for {cfg.num_layers} blocks")
    prompt = load_prompt_embeds(paths.prompt_embeds, 3, cfg.joint_attention_dim if cfg else None, problems)
    pooled = load_prompt_embeds(paths.pooled_prompt_embeds, 2, cfg.pooled_projection_dim if cfg else None, problems)
    vae = load_vae(paths.vae, dtype, problems)
    try:
        sched = schedule.schedule_from_config(read_json(paths.scheduler / "scheduler_config.json"))
    except (OSError, ValueError) as exc:
        problems.append(f"{paths.scheduler}: {exc}")
        sched = None
    if problems:
        raise ModelFilesError("LiveMoments model files do not match the expected layout:\n  " + "\n  ".join(problems))
    device = torch.device(device)
    return LiveMomentsModels(
        transformer=transformer.to(device), transformer_ref=transformer_ref.to(device),
        motion_encoder=motion.to(device), vae=vae.to(device), schedule=sched,
        prompt_embeds=prompt.to(device, dtype), pooled_prompt_embeds=pooled.to(device, dtype),
        dtype=dtype, device=device)
