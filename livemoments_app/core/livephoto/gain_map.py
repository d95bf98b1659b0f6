"""A key photo's HDR gain map as found in its file: what the container says (read with the other metadata, in a
millisecond or two), and the pixels, decoded on first use (~50 ms for an iPhone's 3 MP map: opening a photo does
not pay for it).

The finders live beside the containers they read (:mod:`.gain_map_heif`, :mod:`.gain_map_jpeg`); each gives a
:class:`GainMapRef` whose ``decoder`` is a module-level function of theirs, so a ref can be pickled and needs no
open file between opening the photo and using the map.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from livemoments_app.core.errors import DecodeError, LivePhotoError, one_line
from livemoments_app.core.hdr.model import AppleGainMapInfo, GainMap, IsoGainMapParams


@dataclass
class GainMapRef:
    kind: str                                   # "apple" | "iso21496" | "ultrahdr" (GainMap.kind)
    size: tuple[int, int]                       # (width, height), upright like the still
    headroom: float                             # linear
    path: Path
    decoder: Callable[["GainMapRef"], np.ndarray]     # -> uint8 pixels, upright
    locator: tuple = ()                         # where the decoder finds the pixels (item ids, byte ranges...)
    iso: IsoGainMapParams | None = None
    apple: AppleGainMapInfo | None = None
    raw: dict[str, bytes] = field(default_factory=dict)
    channels: int = 1
    _loaded: GainMap | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def describe(self) -> dict:
        """What ``info`` and the app show, without decoding anything."""
        stops = float(np.log2(max(self.headroom, 1.0)))
        return {"kind": self.kind, "gain_map_width": self.size[0], "gain_map_height": self.size[1],
                "channels": self.channels, "headroom": round(self.headroom, 4), "headroom_stops": round(stops, 4),
                "iso21496": self.iso is not None}

    def load(self) -> GainMap:
        """The gain map (decoded once; later calls return the same object). A map that cannot be decoded is a
        DecodeError naming the file."""
        with self._lock:
            if self._loaded is None:
                try:
                    pixels = self.decoder(self)
                except LivePhotoError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the decoders (libheif, FFmpeg, Pillow) fail in many ways
                    raise DecodeError(one_line(f"the HDR gain map cannot be decoded ({type(exc).__name__}: {exc})"),
                                      self.path) from None
                if pixels.shape[1] != self.size[0] or pixels.shape[0] != self.size[1]:
                    raise DecodeError(f"the HDR gain map decodes to {pixels.shape[1]}×{pixels.shape[0]}, its header "
                                      f"says {self.size[0]}×{self.size[1]}", self.path)
                self._loaded = GainMap(np.ascontiguousarray(pixels, dtype=np.uint8), self.kind, self.headroom,
                                       self.iso, self.apple, dict(self.raw))
            return self._loaded

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def headroom_of(iso: IsoGainMapParams | None, apple: AppleGainMapInfo | None) -> float | None:
    """The linear headroom the file states: Apple's XMP value, else Apple's maker-note formula, else the ISO
    alternate rendition's headroom."""
    from livemoments_app.core.hdr.apple import headroom_from_maker_note

    if apple is not None:
        if apple.xmp_headroom is not None and apple.xmp_headroom >= 1.0:
            return float(apple.xmp_headroom)
        from_note = headroom_from_maker_note(apple.maker_headroom, apple.maker_gain)
        if from_note is not None:
            return from_note
    if iso is not None:
        return float(2.0 ** max(iso.capacity_max, max(iso.gain_max), 0.0))
    return None


_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
    8: lambda a: np.rot90(a, 1),
}


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """``pixels`` (stored orientation) shown upright for EXIF ``orientation`` 1-8, as ImageOps.exif_transpose
    does."""
    op = _ORIENT.get(orientation)
    return np.ascontiguousarray(op(pixels)) if op else pixels
