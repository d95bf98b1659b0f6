"""The demo: a real iPhone 15 Pro Live Photo shipped in ``resources/demo`` (see resources/README.md).

It opens read-only like any user file, on a frame a little before the key photo, with a hint, so a first-time user
can press Restore at once and see what the app does on a real clip.
"""

from __future__ import annotations

import os

from livemoments_app.resources import demo_paths, is_bundled

# The frame chosen when the demo opens: this far before the key photo (the camera pans; the mural's detail is
# clearly softer in the clip than in the still there, and the key photo covers all of it).
DEMO_OFFSET_S = -0.5


def demo_files() -> tuple[str, str]:
    """(still, video) of the demo; FileNotFoundError names the folders looked in when it is missing."""
    still, video = demo_paths()
    return os.fspath(still), os.fspath(video)


def is_demo(path: str | os.PathLike | None) -> bool:
    return path is not None and is_bundled(path)


def demo_frame(live) -> int:
    """The frame the demo opens on: DEMO_OFFSET_S before the key photo (never the key frame itself)."""
    index = live.clip.nearest_index(max(0.0, live.key_time_s + DEMO_OFFSET_S))
    return index if index != live.key_frame_index else max(0, index - 1)


def demo_hint(live, index: int) -> str:
    seconds = live.key_time_s - float(live.clip.times[index])
    return (f"This is a real iPhone Live Photo. Frame {index + 1} ({seconds:.1f} s before the key photo) is "
            f"chosen: press Restore (Ctrl+R) to rebuild it with the key photo's detail, or choose another moment "
            f"on the filmstrip first.")
