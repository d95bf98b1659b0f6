"""Every intermediate of the per-tile procedure against the numerical fixture, float32 on the CPU.

The fixture folder comes from $LIVEMOMENTS_FIXTURE (tests/conftest.py); nothing about its sizes is assumed.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from livemoments_app.core.restore.livemoments import colorfix, loader, sampler  # noqa: E402
from livemoments_app.core.restore.livemoments.paths import ModelPaths  # noqa: E402

TOL = dict(atol=1e-4, rtol=1e-4)


@pytest.fixture(scope="module")
def run(request):
    from safetensors.torch import load_file

    from tests.conftest import FIXTURE

    if not FIXTURE.is_dir():
        pytest.skip(f"numerical fixture {FIXTURE} is absent")
    torch.set_num_threads(1)
    inputs = load_file(FIXTURE / "inputs.safetensors")
    outputs = load_file(FIXTURE / "outputs.safetensors")
    models = loader.load_models(ModelPaths.from_root(FIXTURE), "cpu", torch.float32)
    noise = sampler.TileNoise(inputs["vae_sample_noise_lq"], inputs["vae_sample_noise_ref"], inputs["noise"])
    record: dict = {}
    decoded = sampler.sample_tiles(models, inputs["lq"], inputs["ref"], inputs["flow"], noise, record=record)
    return inputs, outputs, models, record, decoded


def _compare(record, outputs, prefix):
    keys = sorted(k for k in outputs if k.startswith(prefix))
    assert keys, f"fixture has no {prefix}*"
    for k in keys:
        torch.testing.assert_close(record[k], outputs[k], **TOL, msg=lambda m, k=k: f"{k}: {m}")


def test_prompt_embeddings_load_as_the_release_feeds_them(run):
    inputs, _, models, _, _ = run
    assert torch.equal(models.prompt_embeds, inputs["prompt_embeds"])
    assert torch.equal(models.pooled_prompt_embeds, inputs["pooled_prompt_embeds"])


def test_pixels_as_the_release_prepares_them(run):
    inputs = run[0]
    assert torch.equal((2 * inputs["lq_01"] - 1).clamp(-1, 1), inputs["lq"])
    assert torch.equal((2 * inputs["ref_01"] - 1).clamp(-1, 1), inputs["ref"])


def test_motion_embeddings(run):
    _, outputs, _, record, _ = run
    _compare(record, outputs, "motion_embeds_")


def test_vae_encode_and_initial_latent(run):
    _, outputs, _, record, _ = run
    for prefix in ("x_lq_latent", "x_ref_latent", "latents_init"):
        _compare(record, outputs, prefix)


def test_captured_reference_keys_values_every_step(run):
    _, outputs, _, record, _ = run
    _compare(record, outputs, "ref_kv")


def test_model_predictions_and_latents_every_step(run):
    _, outputs, _, record, _ = run
    _compare(record, outputs, "model_pred_step")
    _compare(record, outputs, "latents_step_")


def test_decoded_and_colour_fix(run):
    inputs, outputs, _, record, decoded = run
    torch.testing.assert_close(decoded, outputs["decoded"], **TOL)
    decoded01 = torch.clamp(0.5 * decoded.clamp(-1, 1) + 0.5, 0, 1)
    torch.testing.assert_close(decoded01, outputs["decoded_01"], **TOL)
    final = colorfix.wavelet_color_fix(decoded01, inputs["lq_01"])
    torch.testing.assert_close(final, outputs["final"], **TOL)
    u8 = colorfix.color_fix_u8(decoded, inputs["lq_01"])
    diff = np.abs(u8.astype(int) - outputs["final_u8"].numpy().astype(int))
    assert diff.max() <= 1


def test_motion_term_matters(run):
    """Zeroing point_proj must move the prediction (the fixture's sensitivity section), so the term is used."""
    inputs, outputs, models, _, _ = run
    saved = [b.attn.processor.point_proj.weight.clone() for b in models.transformer.transformer_blocks]
    try:
        for b in models.transformer.transformer_blocks:
            b.attn.processor.point_proj.weight.zero_()
        rec: dict = {}
        noise = sampler.TileNoise(inputs["vae_sample_noise_lq"], inputs["vae_sample_noise_ref"], inputs["noise"])
        sampler.sample_tiles(models, inputs["lq"], inputs["ref"], inputs["flow"], noise, record=rec)
        assert (rec["model_pred_step0"] - outputs["model_pred_step0"]).abs().max() > 1e-2
    finally:
        for b, w in zip(models.transformer.transformer_blocks, saved):
            b.attn.processor.point_proj.weight.copy_(w)


def test_batched_tiles_equal_single_tiles(run):
    """Two tiles in one batch give what each gives alone (batching is a pure speed-up)."""
    inputs, outputs, models, _, decoded = run
    lq = torch.cat([inputs["lq"], inputs["lq"].flip(-1)])
    ref = torch.cat([inputs["ref"], inputs["ref"]])
    flow = torch.cat([inputs["flow"], inputs["flow"]])
    noise = sampler.TileNoise(*(torch.cat([inputs[k], inputs[k]]) for k in
                                ("vae_sample_noise_lq", "vae_sample_noise_ref", "noise")))
    out = sampler.sample_tiles(models, lq, ref, flow, noise)
    torch.testing.assert_close(out[:1], decoded, **TOL)
    assert (out[1:] - decoded).abs().max() > 1e-3


def test_offloaded_order_gives_the_same_result(run):
    inputs, outputs, models, _, decoded = run
    calls = []
    noise = sampler.TileNoise(inputs["vae_sample_noise_lq"], inputs["vae_sample_noise_ref"], inputs["noise"])
    out = sampler.sample_tiles(models, inputs["lq"], inputs["ref"], inputs["flow"], noise, offload=calls.append)
    torch.testing.assert_close(out, decoded, atol=0, rtol=0)
    assert calls.index("transformer_ref") < calls.index("transformer")
    # the lowest memory mode: every step's reference keys/values wait in host memory, one step's come back
    out = sampler.sample_tiles(models, inputs["lq"], inputs["ref"], inputs["flow"], noise, offload=calls.append,
                               kv_home="cpu")
    torch.testing.assert_close(out, decoded, atol=0, rtol=0)


def test_motion_terms_are_computed_once_per_batch_not_per_step(run):
    inputs, _, models, _, decoded = run
    blocks = models.transformer.transformer_blocks
    calls = []
    handles = [b.attn.processor.point_proj.register_forward_hook(lambda *_: calls.append(1)) for b in blocks]
    try:
        noise = sampler.TileNoise(inputs["vae_sample_noise_lq"], inputs["vae_sample_noise_ref"], inputs["noise"])
        out = sampler.sample_tiles(models, inputs["lq"], inputs["ref"], inputs["flow"], noise)
    finally:
        for h in handles:
            h.remove()
    assert len(calls) == len(blocks)        # six steps, one point_proj per block
    torch.testing.assert_close(out, decoded, atol=0, rtol=0)
