"""The six-step sampling schedule of LiveMoments, computed exactly as diffusers 0.32.2 + the release do.

The release builds SD3's FlowMatchEulerDiscreteScheduler (shift 3), picks six sigmas of its training table at
indices trunc(linspace(923, 999, 6)), calls ``set_shift(1.0)`` and then ``set_timesteps(sigmas=...)``. With
the shift reset to 1 the picked sigmas pass through unchanged, timesteps are sigma * 1000 (float32, not
rounded) and a final sigma 0 is appended. Scheduler internals changed across diffusers releases, so the
arithmetic is done here, in float32, in the same order as 0.32.2; only the configuration values
(``num_train_timesteps``, ``shift``) are read from the scheduler config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

FIRST_INDEX = 923
NUM_STEPS = 6


@dataclass(frozen=True)
class Schedule:
    sigmas: torch.Tensor        # (steps + 1,) float32, last one 0
    timesteps: torch.Tensor     # (steps,) float32 = sigmas[:-1] * num_train_timesteps
    indices: tuple[int, ...]    # positions in the training table

    @property
    def steps(self) -> int:
        return int(self.timesteps.numel())


def training_sigmas(num_train_timesteps: int = 1000, shift: float = 3.0) -> torch.Tensor:
    """The descending float32 sigma table FlowMatchEulerDiscreteScheduler builds at construction."""
    import numpy as np

    n = num_train_timesteps
    t = torch.from_numpy(np.linspace(1, n, n, dtype=np.float32)[::-1].copy()).to(torch.float32)
    s = t / n
    return shift * s / (1 + (shift - 1) * s)


def livemoments_schedule(num_train_timesteps: int = 1000, shift: float = 3.0,
                         first_index: int = FIRST_INDEX, steps: int = NUM_STEPS) -> Schedule:
    table = training_sigmas(num_train_timesteps, shift)
    idx = torch.linspace(first_index, num_train_timesteps - 1, steps).long()
    picked = table[idx]
    # set_shift(1.0) then set_timesteps(sigmas=picked): 1 * s / (1 + 0 * s) is the identity in float32.
    sigmas = 1.0 * picked / (1 + (1.0 - 1) * picked)
    timesteps = sigmas * num_train_timesteps
    sigmas = torch.cat([sigmas, torch.zeros(1, dtype=sigmas.dtype)])
    return Schedule(sigmas=sigmas, timesteps=timesteps, indices=tuple(int(i) for i in idx))


def schedule_from_config(config: dict) -> Schedule:
    """Schedule for a scheduler_config.json; refuses options the release never used."""
    for flag in ("use_dynamic_shifting", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                 "invert_sigmas"):
        if config.get(flag):
            raise ValueError(f"scheduler option {flag}=true is not supported by the LiveMoments schedule")
    if config.get("shift_terminal"):
        raise ValueError("scheduler option shift_terminal is not supported by the LiveMoments schedule")
    return livemoments_schedule(int(config.get("num_train_timesteps", 1000)), float(config.get("shift", 1.0)))


def euler_step(latents: torch.Tensor, model_pred: torch.Tensor, sigma: torch.Tensor,
               sigma_next: torch.Tensor) -> torch.Tensor:
    """x <- x + (sigma_next - sigma) * v, in float32 like diffusers' step(), back in the prediction's dtype."""
    dt = (sigma_next - sigma).to(torch.float32)
    return (latents.to(torch.float32) + dt * model_pred).to(model_pred.dtype)
