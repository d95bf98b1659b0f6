"""The LiveMoments parts of the two SD3 transformers: K/V capture on the reference branch and the fused
attention processor of the main branch.

Both branches are diffusers' own ``SD3Transformer2DModel``. The reference branch is untouched; forward hooks
on each block's ``to_k``, ``to_v``, ``add_k_proj`` and ``add_v_proj`` capture the keys and values (before the
split into heads). The main branch gets one :class:`LiveMomentsAttnProcessor` per block: its queries are the
block's own image and text tokens, its keys/values are
``[own image; own text; reference image; reference text]``, and the reference image keys get the motion term
``point_proj(LayerNorm(motion_embedding, eps=1e-5))``, computed once per batch of tiles (it does not depend on
the step) and passed in as ``motion_terms``. The processor is an ``nn.Module`` set as the
attention's ``processor``, so its weight lives at ``transformer_blocks.<i>.attn.processor.point_proj.weight``,
which is where the released checkpoint stores it.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

KV_NAMES = ("to_k", "to_v", "add_k_proj", "add_v_proj")


class LiveMomentsAttnProcessor(nn.Module):
    """Joint attention that also attends to the reference branch's keys/values (LiveMoments eq. for block i)."""

    def __init__(self, dim: int, index: int):
        super().__init__()
        self.index = index
        self.point_norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-5)
        self.point_proj = nn.Linear(dim, dim, bias=False)

    def motion_term(self, embedding: torch.Tensor) -> torch.Tensor:
        """``point_proj(LayerNorm(embedding))``, added to the reference image keys. It depends only on the tile's
        flow, so the sampler computes it once per batch of tiles (:func:`motion_terms`), not at every step."""
        return self.point_proj(self.point_norm(embedding))

    # diffusers inspects the processor's __call__ signature to decide which kwargs to pass, so the call
    # goes through an explicit __call__ rather than nn.Module's generic one.
    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, ref_kv=None, motion_terms=None) -> tuple:
        if ref_kv is None or motion_terms is None:
            raise RuntimeError("the LiveMoments transformer needs ref_kv and motion_terms in joint_attention_kwargs")
        r_k, r_v, r_tk, r_tv = ref_kv[self.index]
        motion_term = motion_terms[self.index]
        b, n = hidden_states.shape[:2]
        heads = attn.heads

        q = attn.to_q(hidden_states)
        k = attn.to_k(hidden_states)
        v = attn.to_v(hidden_states)
        cq = attn.add_q_proj(encoder_hidden_states)
        ck = attn.add_k_proj(encoder_hidden_states)
        cv = attn.add_v_proj(encoder_hidden_states)

        def heads_first(x: torch.Tensor) -> torch.Tensor:
            return x.view(b, -1, heads, x.shape[-1] // heads).transpose(1, 2)

        query = heads_first(torch.cat([q, cq], dim=1))
        key = heads_first(torch.cat([k, ck, r_k + motion_term, r_tk], dim=1))
        value = heads_first(torch.cat([v, cv, r_v, r_tv], dim=1))
        out = F.scaled_dot_product_attention(query, key, value, dropout_p=0.0, is_causal=False)
        out = out.transpose(1, 2).reshape(b, -1, q.shape[-1]).to(q.dtype)

        img, txt = out[:, :n], out[:, n:]
        img = attn.to_out[1](attn.to_out[0](img))
        if not attn.context_pre_only:
            txt = attn.to_add_out(txt)
        return img, txt


def motion_terms(transformer, motion: list[torch.Tensor]) -> list[torch.Tensor]:
    """Every block's motion term for the motion encoder's embeddings (one per block, extra ones ignored)."""
    blocks = transformer.transformer_blocks
    return [block.attn.processor.motion_term(m) for block, m in zip(blocks, motion[:len(blocks)])]


def install_processors(transformer) -> None:
    """Gives every block of a plain SD3 transformer the LiveMoments processor (weights still to be loaded)."""
    dim = transformer.config.num_attention_heads * transformer.config.attention_head_dim
    for i, block in enumerate(transformer.transformer_blocks):
        block.attn.set_processor(LiveMomentsAttnProcessor(dim, i))


class _Captured(Exception):
    """Stops the reference pass once the last block's keys and values are captured (its output is unused)."""


@dataclass
class KVCapture:
    """Per-block (to_k, to_v, add_k_proj, add_v_proj) outputs of the last reference pass."""

    num_blocks: int
    store: dict[tuple[int, str], torch.Tensor] = field(default_factory=dict)

    def per_block(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
        return [tuple(self.store[(i, name)] for name in KV_NAMES) for i in range(self.num_blocks)]


@contextmanager
def kv_capture(transformer_ref, stop_early: bool = True) -> Iterator[KVCapture]:
    """Hooks the reference transformer's K/V projections for the duration of the block. ``stop_early`` ends the
    pass right after the last block's projections (set it False under torch.compile, which cannot trace the
    exception that does it)."""
    blocks = transformer_ref.transformer_blocks
    capture = KVCapture(len(blocks))
    last = len(blocks) - 1
    handles = []

    def hook_for(i: int, name: str):
        def hook(_module, _inputs, output):
            capture.store[(i, name)] = output
            if stop_early and i == last and all((last, n) in capture.store for n in KV_NAMES):
                raise _Captured()
        return hook

    for i, block in enumerate(blocks):
        for name in KV_NAMES:
            handles.append(getattr(block.attn, name).register_forward_hook(hook_for(i, name)))
    try:
        yield capture
    finally:
        for h in handles:
            h.remove()


def reference_kv(transformer_ref, capture: KVCapture, latents_ref: torch.Tensor, timestep: torch.Tensor,
                 prompt_embeds: torch.Tensor, pooled: torch.Tensor):
    """Runs the reference branch up to the last block's K/V projections and returns the per-block K/V."""
    capture.store.clear()
    try:
        transformer_ref(hidden_states=latents_ref, timestep=timestep, encoder_hidden_states=prompt_embeds,
                        pooled_projections=pooled, return_dict=False)
    except _Captured:
        pass
    if len(capture.store) != 4 * capture.num_blocks:
        raise RuntimeError("reference pass did not produce every block's keys and values")
    return capture.per_block()


def main_prediction(transformer, latents: torch.Tensor, timestep: torch.Tensor, prompt_embeds: torch.Tensor,
                    pooled: torch.Tensor, ref_kv, motion_terms) -> torch.Tensor:
    """The main branch's velocity prediction for one step (``motion_terms`` from :func:`motion_terms`)."""
    return transformer(hidden_states=latents, timestep=timestep, encoder_hidden_states=prompt_embeds,
                       pooled_projections=pooled,
                       joint_attention_kwargs={"ref_kv": ref_kv, "motion_terms": motion_terms},
                       return_dict=False)[0]
