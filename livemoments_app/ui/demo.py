"""The demo Live Photo: generated once by the core's synthesiser into the user cache folder, reused after."""

from __future__ import annotations

import json
import os
from pathlib import Path

from platformdirs import user_cache_dir

_MANIFEST = "demo.json"


def demo_dir() -> Path:
    return Path(os.environ.get("LIVEMOMENTS_DEMO_DIR") or Path(user_cache_dir("LiveMoments")) / "demo")


def cached_demo() -> Path | None:
    manifest = demo_dir() / _MANIFEST
    try:
        path = Path(json.loads(manifest.read_text("utf-8"))["path"])
    except (OSError, ValueError, KeyError):
        return None
    return path if path.is_file() else None


def demo_job(progress) -> str:
    """Path of the demo photo, making it first if needed (seconds of work: run it on a worker)."""
    cached = cached_demo()
    if cached is not None:
        return os.fspath(cached)
    from livemoments_app.core.synth import make_demo_live_photo

    folder = demo_dir()
    progress.set(0.1, "Making the demo photo")
    path = make_demo_live_photo(folder)         # makes the folder too
    (folder / _MANIFEST).write_text(json.dumps({"path": os.fspath(path)}), "utf-8")
    return os.fspath(path)
