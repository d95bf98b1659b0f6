"""Device plans and memory modes (no GPU needed: the choice is a function of the free memory)."""

from __future__ import annotations

import pytest

from livemoments_app.core.restore import devices

GiB = devices.GiB


def real_needs(itemsize=2):
    # SD3-medium sized LiveMoments: 2.08 G + 2.03 G transformer parameters, VAE + motion encoder ~0.15 G
    return devices.estimate_needs(2_085_000_000, 2_028_000_000, 150_000_000, blocks=24, width=1536,
                                  image_tokens=4096, text_tokens=333, tile=1024, steps=6, itemsize=itemsize)


def test_big_gpu_keeps_both_branches_and_batches():
    mode, batch = devices.choose_mode(75 * GiB, real_needs())
    assert (mode, batch) == ("default", 4)


def test_16_gb_gpu_default_mode_fewer_tiles():
    mode, batch = devices.choose_mode(15 * GiB, real_needs())
    assert mode == "default" and 1 <= batch < 4


def test_12_gb_gpu_offloads_between_branches():
    mode, batch = devices.choose_mode(11 * GiB, real_needs())
    assert mode == "low" and batch >= 1


def test_too_small_gpu_is_refused_with_numbers():
    with pytest.raises(ValueError, match=r"GiB of device memory, 4\.0 GiB free"):
        devices.choose_mode(4 * GiB, real_needs())


def test_unknown_free_memory_runs_one_tile_default():
    assert devices.choose_mode(None, real_needs()) == ("default", 1)


def test_out_of_memory_ladder():
    plan = devices.DevicePlan("cuda:0", "bfloat16", "default", 4, 20 * GiB)
    steps = []
    while plan is not None:
        steps.append((plan.memory_mode, plan.tiles_per_batch))
        plan = plan.smaller()
    assert steps == [("default", 4), ("default", 2), ("default", 1), ("low", 1)]
    low = devices.DevicePlan("cuda:0", "float16", "low", 1, None)
    assert low.offload and low.vae_tiling
    assert not devices.DevicePlan("cpu", "float32", "low", 1, None).offload


def test_cpu_plan_is_float32():
    pytest.importorskip("torch")
    plan = devices.plan("cpu")
    assert plan.device == "cpu" and plan.dtype == "float32" and plan.memory_mode == "default"
    with pytest.raises(ValueError, match="unknown device"):
        devices.plan("tpu")
    if devices.accelerator()[0] is None:
        with pytest.raises(ValueError, match="no CUDA device"):
            devices.plan("cuda")
