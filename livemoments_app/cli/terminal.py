"""The terminal a progress bar draws on."""

from __future__ import annotations

import os


def reported_size(stream) -> os.terminal_size | None:
    """``stream``'s terminal size; None when it is no terminal or reports 0 x 0 (a fresh pseudo-terminal: docker
    exec -t, some CI runners), where a tqdm bar that follows the size would draw nothing at all."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):      # no file descriptor (io.UnsupportedOperation is an OSError)
        return None
    return size if size.columns > 0 and size.lines > 0 else None
