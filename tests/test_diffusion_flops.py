"""The FLOP formula behind the benchmark's utilisation equals what torch's FLOP counter counts on the real loop."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from livemoments_app.core.restore.livemoments import flops, schedule, tiny  # noqa: E402


@pytest.fixture(scope="module")
def tiny_models():
    torch.set_num_threads(1)
    return tiny.random_models(tiny.TINY, "cpu", torch.float32, seed=0)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("stop_early", [True, False])
def test_formula_equals_counter_on_the_tiny_loop(tiny_models, batch, stop_early):
    shape = flops.shape_of(tiny_models, 64)
    assert shape.steps == 6 and shape.image_tokens == 16 and shape.text_tokens == 13
    assert flops.count(tiny_models, 64, batch, stop_early) == flops.loop_flops(shape, batch, stop_early)


def test_formula_equals_counter_for_the_real_architecture_on_meta():
    # real SD3-medium size with no memory; one step keeps it quick (every step has the same shapes, and the
    # six-step loop is counted on the tiny model above)
    models = tiny.random_models(tiny.REAL, "meta", torch.bfloat16)
    models = dataclasses.replace(models, schedule=schedule.livemoments_schedule(steps=1))
    shape = flops.shape_of(models, 1024)
    assert (shape.blocks, shape.width, shape.image_tokens, shape.text_tokens) == (24, 1536, 4096, 333)
    assert flops.count(models, 1024) == flops.loop_flops(shape)


def test_real_tile_numbers():
    parts = flops.breakdown(flops.LoopShape(blocks=24, width=1536, image_tokens=4096, text_tokens=333))
    assert parts["total"] == pytest.approx(122.8992e12, rel=1e-6)
    assert parts["motion_term"] == 24 * 2 * 4096 * 1536 ** 2       # once per tile, not once per step
    # the main branch attends over twice the keys and runs every block in full: it costs more than the reference
    assert parts["main"] > parts["reference"] > 0.4 * parts["total"]
