"""File-level checks of a models folder (no torch): what is missing, truncated or in the wrong place."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from .paths import ModelPaths

WEIGHTS = "diffusion_pytorch_model.safetensors"
WEIGHTS_INDEX = "diffusion_pytorch_model.safetensors.index.json"
PREPARE_HINT = "run `livemoments models prepare` to derive it"


def safetensors_header(path: Path) -> dict:
    """The JSON header of a .safetensors file (tensor names, dtypes, shapes), read without loading tensors."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError("file too short")
        (n,) = struct.unpack("<Q", head)
        if n > 100 * 2**20:
            raise ValueError("implausible header size")
        header = json.loads(f.read(n))
    size = Path(path).stat().st_size
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    if 8 + n + end > size:
        raise ValueError(f"truncated: {size} bytes, the header describes {8 + n + end}")
    return {k: v for k, v in header.items() if k != "__metadata__"}


def weight_files(folder: Path) -> tuple[list[Path], list[str]]:
    """(weight files, problems) of a diffusers model folder: one file or an index and its shards."""
    if (folder / WEIGHTS).is_file():
        return [folder / WEIGHTS], []
    index = folder / WEIGHTS_INDEX
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError) as exc:
            return [], [f"{index}: unreadable index ({exc})"]
        missing = [s for s in shards if not (folder / s).is_file()]
        return [folder / s for s in shards], [f"{folder / s}: missing (named by {index.name})" for s in missing]
    return [], [f"{folder / WEIGHTS}: missing"]


def _model_folder(folder: Path, what: str, must_have: str | None = None, must_not_have: str | None = None) -> list[str]:
    if not folder.is_dir():
        return [f"{folder}: missing ({what})"]
    problems = []
    config = folder / "config.json"
    if not config.is_file():
        problems.append(f"{config}: missing")
    else:
        try:
            json.loads(config.read_text())
        except ValueError as exc:
            problems.append(f"{config}: not valid JSON ({exc})")
    files, found = weight_files(folder)
    problems += found
    keys: set[str] = set()
    for f in files:
        if f.is_file():
            try:
                keys |= set(safetensors_header(f))
            except (OSError, ValueError) as exc:
                problems.append(f"{f}: not a valid safetensors file ({exc})")
    if keys and must_have and not any(must_have in k for k in keys):
        problems.append(f"{folder}: has no '{must_have}' weights — is this the right folder for the {what}?")
    if keys and must_not_have and any(must_not_have in k for k in keys):
        problems.append(f"{folder}: holds '{must_not_have}' weights — the main transformer's folder, not the {what}?")
    return problems


def problems_in(paths: ModelPaths) -> list[str]:
    """Everything wrong with the files of ``paths``; an empty list means loading can be attempted."""
    problems = []
    problems += _model_folder(paths.transformer, "LiveMoments main transformer", must_have="point_proj")
    problems += _model_folder(paths.transformer_ref, "LiveMoments reference transformer", must_not_have="point_proj")
    for path, what, hint in ((paths.motion_encoder, "motion encoder", ""),
                             (paths.prompt_embeds, "empty-prompt embeddings", PREPARE_HINT),
                             (paths.pooled_prompt_embeds, "pooled empty-prompt embeddings", PREPARE_HINT)):
        if not path.is_file():
            problems.append(f"{path}: missing ({what}{'; ' + hint if hint else ''})")
        elif path.stat().st_size == 0:
            problems.append(f"{path}: empty file ({what})")
    problems += _model_folder(paths.vae, "SD3-medium VAE")
    sched = paths.scheduler / "scheduler_config.json"
    if not sched.is_file():
        problems.append(f"{sched}: missing (SD3-medium scheduler)")
    return problems
