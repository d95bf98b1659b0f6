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


def test_8_gb_gpu_keeps_reference_keys_values_in_host_memory():
    # an 8 GB card: 7.45 GiB, of which the CUDA context and the desktop take about half a GiB
    mode, batch = devices.choose_mode(int(6.9 * GiB), real_needs())
    assert (mode, batch) == ("lowest", 1)
    needs = real_needs()
    one = max(needs.weights_main, needs.weights_ref) + needs.weights_other
    work = needs.per_tile_work_tiled          # the offloading modes tile the VAE
    assert work < needs.per_tile_work
    assert one + needs.steps * needs.per_tile_step_kv + work > 6.9 * GiB - GiB   # "low" would not fit


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
    assert steps == [("default", 4), ("default", 2), ("default", 1), ("low", 1), ("lowest", 1)]
    low = devices.DevicePlan("cuda:0", "float16", "low", 1, None)
    assert low.offload and low.vae_tiling and not low.kv_on_host
    lowest = devices.DevicePlan("cuda:0", "float16", "lowest", 1, None)
    assert lowest.offload and lowest.vae_tiling and lowest.kv_on_host
    assert not devices.DevicePlan("cpu", "float32", "low", 1, None).offload
    assert not devices.DevicePlan("cpu", "float32", "lowest", 1, None).kv_on_host


def test_cpu_plan_is_float32():
    pytest.importorskip("torch")
    plan = devices.plan("cpu")
    assert plan.device == "cpu" and plan.dtype == "float32" and plan.memory_mode == "default"
    with pytest.raises(ValueError, match="unknown device"):
        devices.plan("tpu")
    if devices.accelerator()[0] is None:
        with pytest.raises(ValueError, match="no CUDA device"):
            devices.plan("cuda")


def test_out_of_memory_is_recognised_on_every_device():
    torch = pytest.importorskip("torch")
    device = [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB"),
              RuntimeError("MPS backend out of memory (MPS allocated: 9.02 GiB, other allocations: 2.10 MiB). Tried "
                           "to allocate 256.00 MiB on private pool."),
              RuntimeError("Invalid buffer size: 19.32 GiB"),
              RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
              RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported")]
    host = [MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't "
                                        "allocate memory: you tried to allocate 8 bytes.")]
    for exc in device:
        assert devices.out_of_memory(exc) == "device" and devices.is_out_of_memory(exc), exc
    for exc in host:
        assert devices.out_of_memory(exc) == "host", exc
    # the same words outside a RuntimeError, or other runtime failures, are not an allocator's
    for exc in [RuntimeError("expected scalar type BFloat16 but found Float"), ValueError("out of memory"),
                KeyError("MPS backend out of memory"), RuntimeError("CUDA error: device-side assert triggered")]:
        assert devices.out_of_memory(exc) is None and not devices.is_out_of_memory(exc), exc


def test_real_allocation_failure_is_recognised():
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as info:
        torch.empty(2**62, dtype=torch.uint8)     # 4 EiB: every allocator refuses
    assert devices.is_out_of_memory(info.value)


def test_free_cuda_memory_counts_our_own_and_respects_the_process_cap(monkeypatch):
    torch = pytest.importorskip("torch")
    total = 24 * GiB
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda dev=None: (6 * GiB, total))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda dev=None: 9 * GiB)   # the last photo's models
    monkeypatch.setattr(torch.cuda, "get_per_process_memory_fraction", lambda dev=None: 1.0, raising=False)
    assert devices.free_memory("cuda:0") == 15 * GiB
    monkeypatch.setattr(torch.cuda, "get_per_process_memory_fraction", lambda dev=None: 0.5, raising=False)
    assert devices.free_memory("cuda:0") == 12 * GiB
    # a second photo plans like the first: 15 GiB is the default mode, not a refusal
    assert devices.choose_mode(devices.free_memory("cuda:0"), real_needs())[0] == "default"
