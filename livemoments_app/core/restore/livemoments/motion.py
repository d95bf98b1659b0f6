"""The LiveMoments motion encoder: optical flow of a tile -> one token embedding per transformer block.

Structure of the release: ``blocks.0`` is a stem of four 3x3 stride-2 convolutions each followed by SiLU
(Sequential indices 0, 2, 4, 6), ``blocks.1..K`` are 1x1 convolution + SiLU blocks. The stem output and every
block output are flattened to tokens and emitted twice, so 1 + K stages give 2 + 2K embeddings (24 for the
released 11 blocks, one per transformer block). Channel counts and the number of blocks are read from the
state dict: the released encoder is (512, 1024, 1536, 1536), the test fixture's a much smaller one.
"""

from __future__ import annotations

import re

import torch
from torch import nn

_STEM_KEY = re.compile(r"^blocks\.0\.(\d+)\.weight$")
_BLOCK_KEY = re.compile(r"^blocks\.(\d+)\.0\.weight$")


class MotionEncoder(nn.Module):
    def __init__(self, stem_channels: list[int], in_channels: int = 2, num_blocks: int = 11):
        super().__init__()
        stem: list[nn.Module] = []
        c = in_channels
        for out in stem_channels:
            stem += [nn.Conv2d(c, out, 3, stride=2, padding=1), nn.SiLU()]
            c = out
        blocks = [nn.Sequential(*stem)]
        blocks += [nn.Sequential(nn.Conv2d(c, c, 1), nn.SiLU()) for _ in range(num_blocks)]
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = c

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "MotionEncoder":
        """Builds the encoder whose sizes the state dict describes and loads it strictly."""
        stem = sorted((int(m.group(1)), k) for k in state if (m := _STEM_KEY.match(k)))
        blocks = sorted(int(m.group(1)) for k in state if (m := _BLOCK_KEY.match(k)) and m.group(1) != "0")
        if not stem or [i for i, _ in stem] != list(range(0, 2 * len(stem), 2)):
            raise ValueError("motion encoder state dict has no stem convolutions blocks.0.{0,2,4,6}")
        if blocks != list(range(1, len(blocks) + 1)):
            raise ValueError("motion encoder state dict has gaps in blocks.<k>.0")
        in_channels = state[stem[0][1]].shape[1]
        model = cls([state[k].shape[0] for _, k in stem], in_channels=in_channels, num_blocks=len(blocks))
        model.load_state_dict(state, strict=True)
        return model

    @property
    def num_embeddings(self) -> int:
        return 2 * len(self.blocks)

    def forward(self, flow: torch.Tensor) -> list[torch.Tensor]:
        """flow (B, 2, T, T) in pixels -> list of (B, N, C) tokens, each stage's output twice."""
        out = []
        x = flow
        for block in self.blocks:
            x = block(x)
            tokens = x.flatten(2).transpose(1, 2)
            out += [tokens, tokens]
        return out
