"""VAE encode (posterior *sampled*, as the release does) and decode, with SD3's shift and scale."""

from __future__ import annotations

import torch


def encode(vae, pixels: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pixels in [-1, 1] -> (latent, posterior mean, posterior std); latent = (mean + std*eps - shift) * scale."""
    dist = vae.encode(pixels).latent_dist
    mean, std = dist.mean, dist.std
    z = mean + std * eps.to(mean.dtype)
    return (z - vae.config.shift_factor) * vae.config.scaling_factor, mean, std


def decode(vae, latents: torch.Tensor) -> torch.Tensor:
    """Latents -> pixels (roughly [-1, 1]); the inverse of the shift/scale above."""
    latents = latents.to(vae.dtype)
    return vae.decode(latents / vae.config.scaling_factor + vae.config.shift_factor, return_dict=False)[0]
