"""The restorer protocol shared by the classic (CPU) and the diffusion restorer, and their registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np

from livemoments_app.core.jobs import Progress

if TYPE_CHECKING:
    from livemoments_app.core.align import Alignment
    from livemoments_app.core.hdr.model import GainMap


@dataclass
class RestoreRequest:
    """What a restorer needs: the key photo, the chosen frame and how the first maps onto the second."""

    still: np.ndarray                   # key photo, full resolution, upright RGB (uint8 or uint16)
    frame: np.ndarray                   # chosen frame at clip resolution, upright RGB uint8, same colour space
    alignment: "Alignment"
    scale: float | None = None          # output size = frame size * scale; None: the still's pixel density
    device: str = "auto"                # "auto" | "cpu" | "cuda" | "mps" (ignored by CPU-only restorers)
    options: dict = field(default_factory=dict)


@dataclass
class RestoredImage:
    pixels: np.ndarray                  # H x W x 3, same dtype family as the still
    restorer: str
    elapsed_s: float = 0.0
    info: dict = field(default_factory=dict)
    # Where the result's detail comes from, at the *frame's* resolution (H_f x W_f float32 in [0, 1]): 1 = from the
    # key photo, 0 = the clip frame's own pixels (new content, moving objects, what the alignment did not trust).
    # The compare view shows it, the CLI reports its mean, HDR blends the key photo's gain map by it. None: unknown.
    from_key: np.ndarray | None = None
    # The HDR gain map of the result (core.hdr.restored), made by the pipeline when the key photo has one: the key
    # photo's map where ``from_key`` trusts it, the clip's own elsewhere. None: an SDR result.
    gain_map: "GainMap | None" = None

    @property
    def from_key_share(self) -> float | None:
        """The share of the picture restored from the key photo (the mean of ``from_key``)."""
        return None if self.from_key is None else float(np.mean(self.from_key))


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""                    # why not, in words a user can act on ("no CUDA/MPS device", ...)


class Restorer(Protocol):
    name: str                           # "classic", "livemoments"
    label: str                          # shown in the UI

    def availability(self) -> Availability: ...

    def restore(self, request: RestoreRequest, progress: Progress) -> RestoredImage: ...


_FACTORIES: dict[str, Callable[[], Restorer]] = {}


def register(name: str, factory: Callable[[], Restorer]) -> None:
    """Registers a restorer by name; the factory is called lazily so heavy imports wait until needed."""
    _FACTORIES[name] = factory


def names() -> list[str]:
    return list(_FACTORIES)


def get(name: str) -> Restorer:
    try:
        return _FACTORIES[name]()
    except KeyError:
        raise KeyError(f"unknown restorer {name!r}; known: {', '.join(_FACTORIES)}") from None
