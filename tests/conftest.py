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
