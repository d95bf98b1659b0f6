"""Shared fixtures: where the real samples and the numerical fixture live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("LIVEMOMENTS_SAMPLES", ROOT.parent / "shared" / "samples"))
FIXTURE = Path(os.environ.get("LIVEMOMENTS_FIXTURE", ROOT.parent / "shared" / "fixtures" / "livemoments-tiny"))


def sample(name: str) -> Path:
    """Path of a real sample, skipping the test cleanly when ../shared/samples is absent."""
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"real sample {name} not found in {SAMPLES} (../shared/samples is absent)")
    return path


@pytest.fixture
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} is absent")
    return SAMPLES


@pytest.fixture
def fixture_dir() -> Path:
    if not FIXTURE.is_dir():
        pytest.skip(f"numerical fixture {FIXTURE} is absent")
    return FIXTURE


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the Ray tests (starting one takes seconds; they all live in one module), shut
    down after them: left running, its raylet and idle workers keep taking CPU from every later test (a 300-job
    Qt lane test timed out behind them). Skipped without Ray (the optional 'cluster' extra). Its workers inherit
    this process's environment, PYTHONPATH included."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20, log_to_driver=False)
    yield ray
    ray.shutdown()
