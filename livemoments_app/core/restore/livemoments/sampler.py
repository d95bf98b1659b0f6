"""The per-tile LiveMoments procedure (README section 4 of the numerical fixture), for a batch of tiles.

1. motion embeddings from the tile flow (reference-LR tile -> LQ tile, pixels);
2. VAE-encode LQ and reference tiles, sampling the posteriors;
3. latents = 0.8 * z_lq + 0.2 * noise;
4. the motion terms point_proj(LayerNorm(embedding)) of every block, once (they do not depend on the step);
   for each of the six steps: reference pass on the clean reference latent at t_k (keys/values captured),
   main pass with those keys/values and the motion terms, Euler step;
5. VAE-decode.

Randomness (two posterior samples and the latent noise, per tile in that order) comes from an explicit
``torch.Generator`` or is passed in, so tests can replay the fixture exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from . import attention, vae as vae_ops
from .schedule import euler_step

INIT_LQ_WEIGHT = 0.8
INIT_NOISE_WEIGHT = 0.2


@dataclass
class TileNoise:
    eps_lq: torch.Tensor
    eps_ref: torch.Tensor
    noise: torch.Tensor

    @classmethod
    def draw(cls, batch: int, latent_shape: tuple[int, int, int], generator: torch.Generator | None) -> "TileNoise":
        per_tile = [[torch.randn((1, *latent_shape), generator=generator) for _ in range(3)] for _ in range(batch)]
        return cls(*(torch.cat([t[i] for t in per_tile]) for i in range(3)))


def sample_tiles(models, lq: torch.Tensor, ref: torch.Tensor, flow: torch.Tensor, noise: TileNoise,
                 on_step: Callable[[int, int], None] | None = None, record: dict | None = None,
                 offload: Callable[[str], None] | None = None, stop_early: bool = True,
                 kv_home: torch.device | str | None = None) -> torch.Tensor:
    """Restores a batch of tiles. lq, ref: (B, 3, T, T) in [-1, 1]; flow: (B, 2, T, T) pixels.

    ``on_step(k, steps)`` is called after every denoising step (progress; it may raise to cancel).
    ``record`` receives every intermediate under the fixture's names. ``offload(name)`` is called before a
    component is needed ("motion", "vae", "transformer_ref", "transformer") so a memory mode can move models.
    ``stop_early``: see :func:`attention.kv_capture`.
    Returns the decoded tiles (B, 3, T, T), float32.
    """
    rec = record
    use = offload or (lambda _name: None)

    with torch.inference_mode():
        use("motion")
        dev, dtype = models.device, models.dtype
        motion = models.motion_encoder(flow.to(dev, dtype))
        use("vae")
        x_lq, mean_lq, std_lq = vae_ops.encode(models.vae, lq.to(dev, models.vae.dtype), noise.eps_lq.to(dev))
        x_ref, mean_ref, std_ref = vae_ops.encode(models.vae, ref.to(dev, models.vae.dtype), noise.eps_ref.to(dev))
        x_lq, x_ref = x_lq.to(dtype), x_ref.to(dtype)
        latents = INIT_LQ_WEIGHT * x_lq + INIT_NOISE_WEIGHT * noise.noise.to(dev, dtype)
        if rec is not None:
            rec.update({f"motion_embeds_{i}": m for i, m in enumerate(motion)})
            rec.update(x_lq_latent=x_lq, x_lq_latent_dist_mean=mean_lq, x_lq_latent_dist_std=std_lq,
                       x_ref_latent=x_ref, x_ref_latent_dist_mean=mean_ref, x_ref_latent_dist_std=std_ref,
                       latents_init=latents)

        latents = denoise(models, latents, x_ref, motion, on_step=on_step, record=rec, offload=offload,
                          stop_early=stop_early, kv_home=kv_home)
        del motion, x_ref, x_lq      # not needed by the decoder: free them before its peak
        use("vae")
        decoded = vae_ops.decode(models.vae, latents)
        if rec is not None:
            rec["decoded"] = decoded
        return decoded.float()


@torch.inference_mode()
def denoise(models, latents: torch.Tensor, x_ref: torch.Tensor, motion: list[torch.Tensor],
            on_step: Callable[[int, int], None] | None = None, record: dict | None = None,
            offload: Callable[[str], None] | None = None, stop_early: bool = True,
            kv_home: torch.device | str | None = None) -> torch.Tensor:
    """The denoising loop (step 4): six reference + main passes and Euler steps; returns the final latents.

    latents, x_ref: (B, C, h, w) on the models' device and dtype; ``motion``: the motion encoder's embeddings.
    Arguments as in :func:`sample_tiles` (``offload`` is only asked for the two transformers here).
    ``kv_home`` (with ``offload``): where the reference keys/values of all steps wait -- host memory in the
    lowest memory mode -- while only the current step's are on the device."""
    rec = record
    use = offload or (lambda _name: None)
    b = latents.shape[0]
    dev = models.device
    sched = models.schedule
    prompt = models.prompt_embeds.expand(b, -1, -1)
    pooled = models.pooled_prompt_embeds.expand(b, -1)
    sigmas = sched.sigmas.to(dev)
    timesteps = sched.timesteps.to(dev)
    n_blocks = len(models.transformer.transformer_blocks)

    ref_kvs = None
    if offload is not None:
        # Memory mode: every step's reference keys/values first (they depend only on the clean reference
        # latent and t_k), so each transformer is on the device once per batch, not once per step.
        use("transformer_ref")
        with attention.kv_capture(models.transformer_ref, stop_early) as cap:
            ref_kvs = [_moved(attention.reference_kv(models.transformer_ref, cap, x_ref, t.expand(b), prompt, pooled),
                              kv_home) for t in timesteps]
            cap.store.clear()       # the last step's device copies
        use("transformer")
    # the same at every step: once per batch, not six times
    terms = attention.motion_terms(models.transformer, motion)

    with attention.kv_capture(models.transformer_ref, stop_early) as cap:
        for k, t in enumerate(timesteps):
            tb = t.expand(b)
            if ref_kvs is None:
                kv = attention.reference_kv(models.transformer_ref, cap, x_ref, tb, prompt, pooled)
            else:
                kv = _moved(ref_kvs[k], dev if kv_home is not None else None)
            if rec is not None:
                prefix = "ref_kv" if k == 0 else f"ref_kv_step{k}"
                names = [f"transformer_blocks.{i}.attn.{n}" for i in range(n_blocks) for n in attention.KV_NAMES]
                rec.update({f"{prefix}.{name}": t_ for name, t_ in zip(names, (x for blk in kv for x in blk))})
            pred = attention.main_prediction(models.transformer, latents, tb, prompt, pooled, kv, terms)
            latents = euler_step(latents, pred, sigmas[k], sigmas[k + 1])
            if rec is not None:
                rec[f"model_pred_step{k}"] = pred
                rec[f"latents_step_{k}"] = latents
            if on_step is not None:
                on_step(k, len(timesteps))
    return latents


def _moved(kv, device):
    """Per-block (k, v, text k, text v) on ``device`` (None: where they are). Host copies are pinned when they
    come from CUDA, so bringing a step's keys/values back is one fast DMA per tensor."""
    if device is None:
        return kv
    device = torch.device(device)

    def move(t: torch.Tensor) -> torch.Tensor:
        if device.type == "cpu" and t.device.type == "cuda":
            host = torch.empty(t.shape, dtype=t.dtype, device="cpu", pin_memory=True)
            return host.copy_(t)
        return t.to(device, non_blocking=t.device.type == "cpu" and t.is_pinned())

    return [tuple(move(t) for t in block) for block in kv]
