"""Where the LiveMoments weights are looked for, and the on-disk layout (no torch needed).

A models folder holds the two published repositories side by side, in their own layouts::

    <root>/livemoments/transformer/            Clara-7/LiveMoments (diffusers safetensors folder)
    <root>/livemoments/transformer_ref/
    <root>/livemoments/motion_encoder.pt
    <root>/livemoments/prompt_embeds.pt        derived once by `livemoments models prepare`
    <root>/livemoments/pooled_prompt_embeds.pt
    <root>/sd3/vae/, <root>/sd3/scheduler/     stabilityai/stable-diffusion-3-medium-diffusers
    <root>/sd3/text_encoder*/, tokenizer*/     only for `prepare`

Every path can also be given one by one (:meth:`ModelPaths.with_overrides`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

ENV_VAR = "LIVEMOMENTS_MODELS"
APP_NAME = "LiveMoments"


@dataclass(frozen=True)
class ModelPaths:
    transformer: Path
    transformer_ref: Path
    motion_encoder: Path
    prompt_embeds: Path
    pooled_prompt_embeds: Path
    vae: Path
    scheduler: Path

    @classmethod
    def from_root(cls, root: str | os.PathLike) -> "ModelPaths":
        root = Path(root)
        lm, sd3 = root / "livemoments", root / "sd3"
        return cls(transformer=lm / "transformer", transformer_ref=lm / "transformer_ref",
                   motion_encoder=lm / "motion_encoder.pt", prompt_embeds=lm / "prompt_embeds.pt",
                   pooled_prompt_embeds=lm / "pooled_prompt_embeds.pt", vae=sd3 / "vae",
                   scheduler=sd3 / "scheduler")

    def with_overrides(self, **paths: str | os.PathLike | None) -> "ModelPaths":
        known = {f.name for f in fields(self)}
        unknown = set(paths) - known
        if unknown:
            raise ValueError(f"unknown model path(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return replace(self, **{k: Path(v) for k, v in paths.items() if v is not None})

    def items(self) -> list[tuple[str, Path]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


def user_models_dir() -> Path:
    from platformdirs import user_data_dir
    return Path(user_data_dir(APP_NAME, appauthor=False)) / "models"


def checkout_models_dir() -> Path | None:
    """``models/`` of a source checkout (beside the package), if this is one. An installed package sits in
    site-packages, which has no pyproject.toml; a bundle has neither."""
    checkout = Path(__file__).resolve().parents[4]
    candidate = checkout / "models"
    return candidate if candidate.is_dir() and (checkout / "pyproject.toml").is_file() else None


def candidate_roots() -> list[tuple[str, Path]]:
    """Where weights are looked for, in order: $LIVEMOMENTS_MODELS, the user data dir, models/ in a checkout."""
    out = []
    if os.environ.get(ENV_VAR):
        out.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR]).expanduser()))
    out.append(("user data dir", user_models_dir()))
    checkout = checkout_models_dir()
    if checkout is not None:
        out.append(("checkout", checkout))
    return out


def default_root() -> Path:
    """The folder used when none is named: the first candidate holding a ``livemoments/`` folder, else the
    first candidate (where `download` puts the weights)."""
    roots = candidate_roots()
    for _, root in roots:
        if (root / "livemoments").is_dir():
            return root
    return roots[0][1]
