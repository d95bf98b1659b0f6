"""Matmul FLOPs of the LiveMoments denoising loop: by formula, and counted on the real loop to check the formula.

The formula is what the speed benchmark divides by to get its utilisation (the issue's target is >= 50 % of the
GPU's bf16/fp16 matmul throughput), so it must equal what the loop really multiplies. It counts 2 FLOPs per
multiply-accumulate of every matmul, linear, convolution and attention product, exactly as
``torch.utils.flop_counter.FlopCounterMode`` does (biases, norms, activations and the Euler step are not
counted; they are memory-bound and small). :func:`count` runs :func:`sampler.denoise` under that counter, on any
device including ``meta`` (no memory, no arithmetic), so the real SD3-medium size can be checked in a second.

What one step of one tile does, for N image tokens, L text tokens, S = N + L, width D, 24 blocks:
- per pass of either branch: the patch embedding (a 2x2 convolution), the timestep and pooled-text embedders
  and every adaLN modulation linear (per sample, not per token), the caption projection of the L prompt tokens;
- reference branch: every block in full except the last, where it stops right after the K/V projections it
  captures (the hooks in :mod:`attention` end the pass there): the last block still computes its adaLN
  modulations and the q/k/v of image and text tokens, its attention, output projection and feed-forward are
  never run; self-attention over S keys;
- main branch: all blocks, the last one ``context_pre_only`` (no text output projection, no text
  feed-forward; its text queries are still computed and attend); attention of S queries over 2S keys (own and
  reference tokens); the final adaLN and output projection;
- once per tile, not per step: the motion term ``point_proj`` on the N reference image keys of every block.

The formula equals the counter exactly (tests/test_diffusion_flops.py; ``python -m benchmarks.diffusion_speed
--count-flops``): 122.90 TFLOP per real 1024-px tile. Not in it: element-wise work (norms, GELU, softmax
scaling, the Euler step) and the motion encoder and VAE, which run outside the loop. Still in it although its
result is unused or the same every time, about 0.29 TFLOP (0.24 %) per tile: the reference's last-block queries
(0.13), the main branch's last-block text queries and their attention (0.12), and the caption projection of the
fixed prompt, redone in every pass (0.05).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoopShape:
    """Sizes the loop's cost depends on (read from the transformer config, see :meth:`of`)."""

    blocks: int
    width: int                   # D = heads * head_dim
    image_tokens: int            # N = (tile / 16)^2 for the SD3 VAE and patch 2
    text_tokens: int             # L (333 for the released empty prompt)
    steps: int = 6
    joint_dim: int = 4096        # prompt embedding width
    pooled_dim: int = 2048
    in_channels: int = 16
    out_channels: int = 16
    patch: int = 2
    freq_dim: int = 256          # sinusoidal timestep features

    @classmethod
    def of(cls, config, tile: int, token_factor: int, text_tokens: int, steps: int) -> "LoopShape":
        """From a diffusers SD3 transformer config (attribute or mapping access)."""
        get = config.get if isinstance(config, dict) else (lambda k, d=None: getattr(config, k, d))
        return cls(blocks=get("num_layers"), width=get("num_attention_heads") * get("attention_head_dim"),
                   image_tokens=(tile // token_factor) ** 2, text_tokens=text_tokens, steps=steps,
                   joint_dim=get("joint_attention_dim"), pooled_dim=get("pooled_projection_dim"),
                   in_channels=get("in_channels"), out_channels=get("out_channels") or get("in_channels"),
                   patch=get("patch_size"))


def _linear(tokens: int, n_in: int, n_out: int) -> int:
    return 2 * tokens * n_in * n_out


def breakdown(s: LoopShape, batch: int = 1, stop_early: bool = True) -> dict[str, int]:
    """FLOPs of the whole loop (all steps) for ``batch`` tiles, by part; ``total`` is their sum.
    ``stop_early=False`` (the torch.compile path, see :func:`attention.kv_capture`): the reference pass runs to
    its end, wasting its last block's attention, output projection and feed-forward and its final projection."""
    d, n, l = s.width, s.image_tokens, s.text_tokens
    seq = n + l

    def attention(queries: int, keys: int) -> int:      # Q K^T and P V
        return 2 * 2 * queries * keys * d

    # once per pass, either branch
    stem = (_linear(n, s.in_channels * s.patch ** 2, d)                    # patch embedding convolution
            + _linear(1, s.freq_dim, d) + _linear(1, d, d)                 # timestep embedder
            + _linear(1, s.pooled_dim, d) + _linear(1, d, d)               # pooled text embedder
            + _linear(l, s.joint_dim, d))                                  # caption projection
    ada_full = 2 * _linear(1, d, 6 * d)                                    # norm1 + norm1_context (AdaLayerNormZero)
    ada_last = _linear(1, d, 6 * d) + _linear(1, d, 2 * d)     # last block: its context norm is AdaLayerNormContinuous
    qkv = 3 * _linear(seq, d, d)
    image_out_ff = _linear(n, d, d) + _linear(n, d, 4 * d) + _linear(n, 4 * d, d)
    text_out_ff = _linear(l, d, d) + _linear(l, d, 4 * d) + _linear(l, 4 * d, d)

    tail = _linear(1, d, 2 * d) + _linear(n, d, s.patch ** 2 * s.out_channels)   # norm_out + proj_out

    ref_block = ada_full + qkv + attention(seq, seq) + image_out_ff + text_out_ff
    if stop_early:
        ref_last = ada_last + qkv                                          # stopped after the K/V projections
    else:
        ref_last = ada_last + qkv + attention(seq, seq) + image_out_ff + tail
    reference = stem + (s.blocks - 1) * ref_block + ref_last

    main_block = ada_full + qkv + attention(seq, 2 * seq) + image_out_ff + text_out_ff
    main_last = ada_last + qkv + attention(seq, 2 * seq) + image_out_ff
    main = stem + (s.blocks - 1) * main_block + main_last + tail
    motion_term = s.blocks * _linear(n, d, d)                             # point_proj, per block, once per tile

    parts = {"reference": reference * s.steps, "main": main * s.steps, "motion_term": motion_term}
    parts = {k: v * batch for k, v in parts.items()}
    parts["total"] = sum(parts.values())
    return parts


def loop_flops(s: LoopShape, batch: int = 1, stop_early: bool = True) -> int:
    return breakdown(s, batch, stop_early)["total"]


def shape_of(models, tile: int) -> LoopShape:
    return LoopShape.of(models.transformer.config, tile, models.token_factor, models.prompt_embeds.shape[1],
                        models.schedule.steps)


def count(models, tile: int, batch: int = 1, stop_early: bool = True) -> int:
    """FLOPs ``torch.utils.flop_counter`` counts on :func:`sampler.denoise` for ``batch`` random tiles of ``tile``
    px, on the models' device (``meta`` works). SDPA runs its math form, whose matmuls the counter sees on every
    device (it has no formula for the CPU's fused attention kernel)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from . import sampler

    dev, dt = models.device, models.dtype
    lh = tile // models.latent_factor
    c = models.transformer.config.in_channels
    x_ref = torch.zeros(batch, c, lh, lh, device=dev, dtype=dt)
    latents = torch.zeros(batch, c, lh, lh, device=dev, dtype=dt)
    tokens = (tile // models.token_factor) ** 2
    motion = [torch.zeros(batch, tokens, models.motion_encoder.out_channels, device=dev, dtype=dt)
              for _ in range(models.motion_encoder.num_embeddings)]
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        sampler.denoise(models, latents, x_ref, motion, stop_early=stop_early)
    return int(counter.get_total_flops())
