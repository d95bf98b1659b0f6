"""release_freed_memory gives pages freed in the middle of the heap back to the system (glibc), which free()
alone does not do while live allocations sit above them."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from livemoments_app.core.memory import release_freed_memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_freed_heap_pages_go_back_to_the_system():
    kept = []

    def fragment():
        # 64 KiB blocks stay below glibc's mmap threshold, so they come from the thread's heap arena; a small
        # survivor after every block pins the arena's top, so free() cannot shrink it.
        dropped = []
        for _ in range(3000):
            dropped.append(np.ones(64 * 1024, np.uint8))
            kept.append(np.ones(64, np.uint8))
        dropped.clear()

    thread = threading.Thread(target=fragment)
    thread.start()
    thread.join()
    before = _rss_mb()
    assert release_freed_memory()
    after = _rss_mb()
    assert before - after > 100, (before, after)      # ~190 MB were freed inside the arena
    assert len(kept) == 3000
