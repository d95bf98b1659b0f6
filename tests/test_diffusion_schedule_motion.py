"""Schedule and motion encoder against the numerical fixture (README sections 4.2 and 5)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from livemoments_app.core.restore.livemoments import motion, schedule  # noqa: E402

TOL = dict(atol=1e-4, rtol=1e-4)


@pytest.fixture
def outputs(fixture_dir):
    from safetensors.torch import load_file
    return load_file(fixture_dir / "outputs.safetensors")


@pytest.fixture
def inputs(fixture_dir):
    from safetensors.torch import load_file
    return load_file(fixture_dir / "inputs.safetensors")


def _scheduler_config(fixture_dir):
    return json.loads((fixture_dir / "sd3" / "scheduler" / "scheduler_config.json").read_text())


def test_schedule_is_exact(fixture_dir, outputs):
    s = schedule.schedule_from_config(_scheduler_config(fixture_dir))
    assert torch.equal(s.sigmas, outputs["sigmas"])
    assert torch.equal(s.timesteps, outputs["timesteps"])
    assert torch.equal(s.sigmas[:-1], outputs["sigmas_selected"])
    assert s.steps == outputs["timesteps"].numel()


def test_reapplying_the_configured_shift_would_be_caught(fixture_dir, outputs):
    # the classic porting mistake (README section 5): shifting the picked sigmas a second time
    picked = outputs["sigmas_selected"]
    twice = 3.0 * picked / (1 + 2.0 * picked)
    assert abs(float(twice[0]) - 0.4288) < 1e-3
    assert not torch.allclose(twice, schedule.schedule_from_config(_scheduler_config(fixture_dir)).sigmas[:-1])


def test_installed_diffusers_scheduler_agrees_with_our_schedule(fixture_dir):
    """Cross-check with the installed diffusers: same table, and its step() is our Euler step."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    ours = schedule.schedule_from_config(_scheduler_config(fixture_dir))
    sch = FlowMatchEulerDiscreteScheduler.from_pretrained(fixture_dir / "sd3", subfolder="scheduler")
    assert torch.equal(sch.sigmas[list(ours.indices)], ours.sigmas[:-1])
    sch.set_shift(1.0)
    sch.set_timesteps(sigmas=ours.sigmas[:-1].tolist(), device="cpu")
    assert torch.equal(sch.sigmas.float(), ours.sigmas)
    assert torch.equal(sch.timesteps.float(), ours.timesteps)
    x = torch.randn(1, 4, 2, 2)
    v = torch.randn(1, 4, 2, 2)
    for k, t in enumerate(sch.timesteps):
        expected = schedule.euler_step(x, v, ours.sigmas[k], ours.sigmas[k + 1])
        x = sch.step(v, t, x, return_dict=False)[0]
        assert torch.equal(x, expected)


def test_schedule_refuses_unsupported_options():
    with pytest.raises(ValueError, match="use_dynamic_shifting"):
        schedule.schedule_from_config({"shift": 3.0, "use_dynamic_shifting": True})


def test_motion_encoder_matches_every_embedding(fixture_dir, inputs, outputs):
    state = torch.load(fixture_dir / "livemoments" / "motion_encoder.pt", weights_only=True, map_location="cpu")
    enc = motion.MotionEncoder.from_state_dict(state).eval()
    with torch.no_grad():
        embeds = enc(inputs["flow"])
    expected = sorted((k for k in outputs if k.startswith("motion_embeds_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    assert len(embeds) == len(expected) == enc.num_embeddings
    for got, key in zip(embeds, expected):
        torch.testing.assert_close(got, outputs[key], **TOL)


def test_motion_encoder_sizes_come_from_the_state_dict():
    enc = motion.MotionEncoder([4, 8, 12, 12], num_blocks=3)
    rebuilt = motion.MotionEncoder.from_state_dict(enc.state_dict())
    assert rebuilt.out_channels == 12 and rebuilt.num_embeddings == 8
    with torch.no_grad():
        out = rebuilt(torch.zeros(1, 2, 32, 32))
    assert out[0].shape == (1, 4, 12)
    broken = {k: v for k, v in enc.state_dict().items() if not k.startswith("blocks.2.")}
    with pytest.raises(ValueError):
        motion.MotionEncoder.from_state_dict(broken)
