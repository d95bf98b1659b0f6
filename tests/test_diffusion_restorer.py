"""The LiveMoments restorer end to end on the CPU with a tiny random checkpoint in the released layout."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("cv2")

from livemoments_app.core import errors  # noqa: E402
from livemoments_app.core.jobs import CancelToken, Cancelled, Progress  # noqa: E402
from livemoments_app.core.restore import base, devices  # noqa: E402
from livemoments_app.core.restore.livemoments import loader, restorer as lm_restorer, sampler, tiny  # noqa: E402
from livemoments_app.core.restore.livemoments.paths import ModelPaths  # noqa: E402

OPTIONS = {"tile": 64, "overlap": 16, "seed": 3}
SCALE = 0.7  # 160 px frame -> 112 px = exactly 2 x 2 tiles of 64 with overlap 16, no padding


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # tiny matrices: extra threads only contend for the shared CPU cores
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny.write_checkpoint(tmp_path_factory.mktemp("lm_tiny"), tiny.TINY, seed=1)


@pytest.fixture(scope="module")
def pair():
    from livemoments_app.core.align import align_pair

    still, frame = tiny.textured_pair(160)
    return still, frame, align_pair(still, frame)


def _request(pair, checkpoint, **extra):
    still, frame, alignment = pair
    return base.RestoreRequest(still=still, frame=frame, alignment=alignment, scale=SCALE, device="cpu",
                               options={**OPTIONS, "models": str(checkpoint), **extra})


def test_tiny_checkpoint_written_in_tmp_path_loads_with_sizes_from_files(checkpoint):
    models = loader.load_models(ModelPaths.from_root(checkpoint))
    assert models.motion_encoder.out_channels == 32 and models.motion_encoder.num_embeddings == 24
    assert len(models.transformer.transformer_blocks) == 2
    assert models.prompt_embeds.shape == (1, 13, 32)
    names = {n for n, _ in models.transformer.named_parameters()}
    assert "transformer_blocks.1.attn.processor.point_proj.weight" in names


def test_registered_restorer_runs_end_to_end_with_progress(pair, checkpoint):
    from livemoments_app.core.restore import livemoments

    livemoments.register()
    r = base.get("livemoments")
    assert r.name == "livemoments"
    seen: list[tuple[float, str]] = []
    out = r.restore(_request(pair, checkpoint), Progress(lambda f, t: seen.append((f, t))))
    h, w = pair[2].output_size(SCALE)
    assert out.pixels.shape == (h, w, 3) and out.pixels.dtype == np.uint8
    assert out.restorer == "livemoments" and out.info["tiles"] == 4 and out.info["device"] == "cpu"
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    steps = [t for _, t in seen if "step" in t]
    assert len(steps) == 4 * 6 and steps[0] == "Tile 1/4, step 1/6"
    # the colour fix keeps the low frequencies of the frame (the random model only adds high frequencies)
    frame_mean = pair[1].reshape(-1, 3).mean(0)
    assert np.abs(out.pixels.reshape(-1, 3).mean(0) - frame_mean).max() < 12
    # the border fix: 112 px = exactly 2 tiles, no padding, so first and last rows/columns lie on tile borders
    # only; the release leaves them at 0 before the colour fix (grey); we do not
    from livemoments_app.core.restore.livemoments import colorfix
    high_out = colorfix.wavelet_split(torch.from_numpy(out.pixels.transpose(2, 0, 1)[None].astype(np.float32)))[0]
    for line in (high_out[..., 0, :], high_out[..., -1, :], high_out[..., :, 0], high_out[..., :, -1]):
        assert line.abs().mean() > 1.0
    # same seed, same result; another seed differs
    again = r.restore(_request(pair, checkpoint), Progress())
    assert np.array_equal(again.pixels, out.pixels)
    other = r.restore(_request(pair, checkpoint, seed=4), Progress())
    assert not np.array_equal(other.pixels, out.pixels)


def test_cancel_stops_between_steps(pair, checkpoint):
    token = CancelToken()
    texts = []

    def cb(f, t):
        texts.append(t)
        if t == "Tile 1/4, step 2/6":
            token.cancel()

    with pytest.raises(Cancelled):
        lm_restorer.LiveMomentsRestorer().restore(_request(pair, checkpoint), Progress(cb, token))
    assert texts[-1] == "Tile 1/4, step 2/6"


def test_low_memory_mode_and_batches_run(pair, checkpoint, monkeypatch):
    r = lm_restorer.LiveMomentsRestorer()
    b = r.restore(_request(pair, checkpoint), Progress())
    a = r.restore(_request(pair, checkpoint, tiles_per_batch=4), Progress())
    assert np.abs(a.pixels.astype(int) - b.pixels.astype(int)).max() <= 1
    assert a.info["tiles_per_batch"] == 4
    # offloading between the branches is a GPU feature; exercise its code path on the CPU
    monkeypatch.setattr(devices.DevicePlan, "offload", property(lambda self: self.memory_mode != "default"))
    low = r.restore(_request(pair, checkpoint, memory="low"), Progress())
    assert low.info["memory_mode"] == "low"
    assert np.abs(low.pixels.astype(int) - b.pixels.astype(int)).max() <= 1
    homes = []
    real_sample = sampler.sample_tiles
    monkeypatch.setattr(devices.DevicePlan, "kv_on_host", property(lambda self: self.memory_mode == "lowest"))
    monkeypatch.setattr(sampler, "sample_tiles", lambda *a, **k: homes.append(k.get("kv_home")) or real_sample(*a, **k))
    lowest = r.restore(_request(pair, checkpoint, memory="lowest"), Progress())
    assert lowest.info["memory_mode"] == "lowest" and set(homes) == {"cpu"}
    assert np.abs(lowest.pixels.astype(int) - b.pixels.astype(int)).max() <= 1
    with pytest.raises(errors.RestoreError, match="unknown memory mode"):
        r.restore(_request(pair, checkpoint, memory="tiny"), Progress())


# What each device really raises when its allocator gives up (see devices.out_of_memory).
OOM_ERRORS = {
    "cuda": lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    "mps": lambda: RuntimeError("MPS backend out of memory (MPS allocated: 17.80 GiB, other allocations: 0 bytes, "
                                "max allowed: 18.13 GiB). Tried to allocate 1.00 GiB on private pool. Use "
                                "PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to disable upper limit for memory allocations "
                                "(may cause system failure)."),
    "cpu": lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                                "memory: you tried to allocate 4294967296 bytes. Error code 12 (Cannot allocate "
                                "memory)"),
}


@pytest.mark.parametrize("device", sorted(OOM_ERRORS))
def test_out_of_memory_retries_smaller_then_fails_clearly(pair, checkpoint, monkeypatch, device):
    make = OOM_ERRORS[device]
    calls = []
    real = lm_restorer.LiveMomentsRestorer._all_tiles

    def flaky(self, models, plan, tiled, run, progress):
        calls.append((plan.tiles_per_batch, plan.memory_mode))
        if len(calls) < 3:
            raise make()
        return real(self, models, plan, tiled, run, progress)

    monkeypatch.setattr(lm_restorer.LiveMomentsRestorer, "_all_tiles", flaky)
    texts = []
    out = lm_restorer.LiveMomentsRestorer().restore(_request(pair, checkpoint, tiles_per_batch=2),
                                                    Progress(lambda f, t: texts.append(t)))
    assert calls == [(2, "default"), (1, "default"), (1, "low")]
    assert out.info["memory_mode"] == "low" and out.pixels.shape[2] == 3
    assert "Out of memory: retrying with 1 tile(s) per batch, memory mode low" in texts

    def always(self, *a):
        raise make()

    monkeypatch.setattr(lm_restorer.LiveMomentsRestorer, "_all_tiles", always)
    with pytest.raises(errors.RestoreError, match="even with one tile at a time") as info:
        lm_restorer.LiveMomentsRestorer().restore(_request(pair, checkpoint), Progress())
    text = str(info.value)
    assert ("out of memory (RAM)" if device == "cpu" else "out of cpu memory") in text
    assert "smaller output scale" in text
    # raised after the except clause: no chained traceback holding the failed batch's tensors
    assert info.value.__context__ is None and info.value.__cause__ is None


@pytest.mark.parametrize("error", [RuntimeError("expected scalar type BFloat16 but found Float"),
                                   ValueError("MPS backend out of memory (not from the allocator)"),
                                   KeyError("transformer_blocks.0")])
def test_other_errors_during_a_batch_propagate_unchanged(pair, checkpoint, monkeypatch, error):
    calls = []

    def broken(self, *a):
        calls.append(1)
        raise error

    monkeypatch.setattr(lm_restorer.LiveMomentsRestorer, "_all_tiles", broken)
    with pytest.raises(type(error)) as info:
        lm_restorer.LiveMomentsRestorer().restore(_request(pair, checkpoint), Progress())
    assert info.value is error and calls == [1]


def test_missing_files_give_one_error_listing_them(pair, checkpoint, tmp_path):
    import shutil

    broken = tmp_path / "models"
    shutil.copytree(checkpoint, broken)
    (broken / "livemoments" / "motion_encoder.pt").unlink()
    (broken / "livemoments" / "prompt_embeds.pt").unlink()
    with pytest.raises(errors.ModelFilesError) as info:
        lm_restorer.LiveMomentsRestorer().restore(_request(pair, broken), Progress())
    text = str(info.value)
    assert "motion_encoder.pt: missing" in text and "prompt_embeds.pt: missing" in text
    assert "livemoments models prepare" in text


def test_mismatched_weights_are_reported(checkpoint, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    broken = tmp_path / "models"
    shutil.copytree(checkpoint, broken)
    f = broken / "livemoments" / "transformer_ref" / "diffusion_pytorch_model.safetensors"
    state = load_file(f)
    state["proj_out.weight"] = state["proj_out.weight"][:, :8].contiguous()
    del state["context_embedder.bias"]
    save_file(state, f)
    torch.save({"nope": torch.zeros(1)}, broken / "livemoments" / "motion_encoder.pt")
    with pytest.raises(errors.ModelFilesError) as info:
        loader.load_models(ModelPaths.from_root(broken))
    text = str(info.value)
    assert "context_embedder.bias" in text and "proj_out.weight" in text and "motion_encoder.pt" in text


def test_swapped_transformer_folders_are_caught(checkpoint):
    paths = ModelPaths.from_root(checkpoint)
    swapped = paths.with_overrides(transformer=paths.transformer_ref, transformer_ref=paths.transformer)
    from livemoments_app.core.restore.livemoments.files import problems_in

    problems = problems_in(swapped)
    assert len(problems) == 2 and all("right folder" in p or "main transformer's folder" in p for p in problems)


def test_paths_can_be_set_one_by_one(checkpoint, tmp_path):
    import shutil

    elsewhere = tmp_path / "me.pt"
    shutil.copy(checkpoint / "livemoments" / "motion_encoder.pt", elsewhere)
    given = dict(ModelPaths.from_root(checkpoint).items())
    given["motion_encoder"] = elsewhere
    paths = ModelPaths.from_root(tmp_path / "nowhere").with_overrides(**given)
    assert loader.load_models(paths).motion_encoder.num_embeddings == 24
    with pytest.raises(ValueError, match="unknown model path"):
        paths.with_overrides(vea="x")


def test_availability_reasons(checkpoint, monkeypatch, tmp_path):
    r = lm_restorer.LiveMomentsRestorer
    assert "weights not found — Settings › Models" in r().availability({"models": str(tmp_path)}).reason
    got = r().availability({"models": str(checkpoint)})
    if devices.accelerator()[0] is None:
        assert not got.ok and got.reason.startswith("no CUDA/MPS device")
    else:
        assert got.ok
    monkeypatch.setattr(devices, "torch_installed", lambda: False)
    got = r().availability({"models": str(checkpoint)})
    assert not got.ok and got.reason.startswith("torch not installed")


def test_bad_tile_size_is_refused(pair, checkpoint):
    with pytest.raises(errors.RestoreError, match="multiple of 16"):
        lm_restorer.LiveMomentsRestorer().restore(_request(pair, checkpoint, tile=72), Progress())


def test_sixteen_bit_still_gives_sixteen_bit_output(pair, checkpoint):
    still, frame, alignment = pair
    r = lm_restorer.LiveMomentsRestorer()
    out8 = r.restore(_request(pair, checkpoint), Progress()).pixels
    req16 = base.RestoreRequest(still=still.astype(np.uint16) * 257, frame=frame, alignment=alignment, scale=SCALE,
                                device="cpu", options={**OPTIONS, "models": str(checkpoint)})
    out16 = r.restore(req16, Progress()).pixels
    assert out16.dtype == np.uint16 and out16.shape == out8.shape
    # same picture; the 8-bit path quantises (and truncates) along the way, the 16-bit one does not
    assert np.abs(out16.astype(float) / 257 - out8).mean() < 1.5


def test_weights_that_do_not_fit_are_loaded_for_offloading(pair, checkpoint, monkeypatch):
    real = lm_restorer.LiveMomentsRestorer._load
    plans = []

    def load(self, paths, plan, *_):
        plans.append(plan.memory_mode)
        if plan.memory_mode == "default":
            raise OOM_ERRORS["mps"]()
        return real(self, paths, plan)

    monkeypatch.setattr(lm_restorer.LiveMomentsRestorer, "_load", load)
    out = lm_restorer.LiveMomentsRestorer().restore(_request(pair, checkpoint), Progress())
    assert plans == ["default", "low"] and out.info["memory_mode"] == "low"

    def never(self, paths, plan, *_):
        raise torch.OutOfMemoryError("simulated")

    monkeypatch.setattr(lm_restorer.LiveMomentsRestorer, "_load", never)
    with pytest.raises(errors.RestoreError, match="do not fit"):
        lm_restorer.LiveMomentsRestorer().restore(_request(pair, checkpoint), Progress())

    def no_ram(self, paths, plan, *_):
        plans.append(plan.memory_mode)
        raise OOM_ERRORS["cpu"]()

    plans.clear()
    monkeypatch.setattr(lm_restorer.LiveMomentsRestorer, "_load", no_ram)
    with pytest.raises(errors.RestoreError, match="not enough memory to load the LiveMoments weights"):
        lm_restorer.LiveMomentsRestorer().restore(_request(pair, checkpoint), Progress())
    assert plans == ["default"]     # offloading would load into the same RAM: no second try


def test_blending_falls_back_to_the_cpu_when_the_gpu_is_full(monkeypatch):
    calls = []

    def finish(decoded, tiled, lq01, dtype, device="cpu"):
        calls.append(device)
        if device != "cpu":
            raise OOM_ERRORS["mps"]()
        return "blended on the cpu"

    freed = []
    monkeypatch.setattr(lm_restorer, "finish", finish)
    monkeypatch.setattr(lm_restorer, "free_device", freed.append)      # no Apple GPU here to empty
    assert lm_restorer.finish_anywhere([], None, None, np.uint8, "mps") == "blended on the cpu"
    assert calls == ["mps", "cpu"] and freed == ["mps"]

    def no_ram(decoded, tiled, lq01, dtype, device="cpu"):
        raise OOM_ERRORS["cpu"]()

    monkeypatch.setattr(lm_restorer, "finish", no_ram)
    with pytest.raises(errors.RestoreError, match="out of memory .RAM. while blending"):
        lm_restorer.finish_anywhere([], None, None, np.uint8, "cpu")

    def broken(decoded, tiled, lq01, dtype, device="cpu"):
        raise ValueError("a real bug")

    monkeypatch.setattr(lm_restorer, "finish", broken)
    with pytest.raises(ValueError, match="a real bug"):
        lm_restorer.finish_anywhere([], None, None, np.uint8, "mps")
