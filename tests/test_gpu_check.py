"""benchmarks.gpu_check, the one prepared run for a GPU session: the tiny CPU smoke run covers every stage."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("cv2")

from benchmarks import gpu_check  # noqa: E402


@pytest.fixture(autouse=True)
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _read(out):
    return json.loads((out / "gpu_check.json").read_text())


def test_tiny_cpu_smoke_runs_every_stage(tmp_path, capsys):
    rc = gpu_check.main(["--out", str(tmp_path), "--tiny", "--device", "cpu"])
    data = _read(tmp_path)
    stages = data["stages"]
    assert rc == 0, {k: v.get("error") for k, v in stages.items()}
    assert list(stages) == list(gpu_check.STAGES) and all(s["status"] == "ok" for s in stages.values())
    assert stages["env"]["device"] == "cpu" and stages["env"]["torch"] == torch.__version__
    parity = stages["parity"]
    if gpu_check.fixture_dir(None) is not None:
        assert parity["tensors"] > 50 and parity["within_1e-4"] == parity["tensors"]
        assert parity["worst_abs_error"] < 1e-4 and parity["final_u8_max_diff"] <= 1
    tiny_restore = parity["tiny_restore"]
    assert tiny_restore["ok"] and tiny_restore["bfloat16"]["finite"]
    assert tiny_restore["bfloat16"]["shape"] == [112, 112, 3]
    assert tiny_restore["bf16_vs_fp32_mean_abs_255"] < 5
    oom = stages["oom"]
    assert oom["never_crashed"]
    (cap,) = oom["caps"]
    assert cap["auto"]["outcome"] == "result" and cap["auto"]["plan"]["tiles"] == 4
    assert cap["forced_low"]["plan"]["memory_mode"] == "low"
    pipeline = stages["pipeline"]       # the real demo, open -> align -> restore -> gain map -> HEIC, read back
    assert pipeline["finite"] and pipeline["frame"] < 37 and pipeline["plan"]["tiles"] >= 4
    assert pipeline["gain_map"] is not None and pipeline["written"]["hdr"]
    assert pipeline["written"]["size"] == pipeline["size"] and pipeline["written"]["gain_map"] is not None
    (row,) = stages["speed"]["results"]["runs"]
    assert row["tile_s"] > 0 and row["tile_finite"] and row["image_tiles"] == 6
    assert "[gpu_check] done" in capsys.readouterr().out


def test_refuses_without_a_gpu(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    assert gpu_check.main(["--out", str(tmp_path / "o")]) == 2
    assert gpu_check.main(["--out", str(tmp_path / "o"), "--device", "cpu"]) == 2       # real size on a CPU: no
    err = capsys.readouterr().err
    assert "needs a CUDA GPU" in err and "--tiny --device cpu" in err
    assert not (tmp_path / "o").exists()
    # run bare, as `python -m benchmarks` runs every benchmark: it says so, but it is not a failure
    assert gpu_check.main([]) == 0 and "needs a CUDA GPU" in capsys.readouterr().err


def test_a_failing_stage_is_recorded_and_the_next_one_runs_with_the_file_saved(tmp_path, monkeypatch):
    seen = {}

    def broken(ctx):
        raise RuntimeError("simulated stage failure")

    def peek(ctx):
        seen.update(_read(tmp_path))          # what a timeout at this moment would leave
        return {"peeked": True}

    monkeypatch.setitem(gpu_check.RUNNERS, "parity", broken)
    monkeypatch.setitem(gpu_check.RUNNERS, "oom", peek)
    rc = gpu_check.main(["--out", str(tmp_path), "--tiny", "--device", "cpu", "--stages", "env,parity,oom"])
    assert rc == 1
    assert seen["stages"]["env"]["status"] == "ok"
    assert seen["stages"]["parity"]["status"] == "error"
    assert "simulated stage failure" in seen["stages"]["parity"]["error"]
    assert _read(tmp_path)["stages"]["oom"] == {"peeked": True, "status": "ok",
                                                "seconds": _read(tmp_path)["stages"]["oom"]["seconds"]}


def test_an_exhausted_budget_skips_the_later_stages_cleanly(tmp_path):
    rc = gpu_check.main(["--out", str(tmp_path), "--tiny", "--device", "cpu", "--time-budget", "0"])
    stages = _read(tmp_path)["stages"]
    assert rc == 1 and stages["env"]["status"] == "ok"
    for name in ("parity", "oom", "pipeline", "speed"):
        assert stages[name]["status"] == "skipped" and "budget" in stages[name]["why"]
