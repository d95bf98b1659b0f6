"""What scoring a clip gives: one :class:`FrameScore` per frame and the :class:`Suggestions` that hold them."""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_GAP_S = 0.25     # suggestions closer than this in time are one moment


@dataclass
class FrameScore:
    """One frame of the clip, judged as a candidate for the new key photo.

    ``score`` is 0..1 (higher is a better moment); ``parts`` are the named parts it combines (each 0..1, higher is
    better; a part that could not be measured, e.g. ``faces`` where no face was found, is absent); ``reasons`` are
    short sentences a person can read, the most telling first."""

    index: int                      # 0-based, within the clip's frame count
    time_s: float                   # presentation time in the clip (seconds, movie time)
    score: float
    parts: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    is_key: bool = False            # the frame of the key photo's moment (restores from itself)
    details: dict[str, float] = field(default_factory=dict)   # raw measurements behind the parts

    def to_json(self) -> dict:
        return {"index": self.index, "time_s": round(float(self.time_s), 6), "score": round(float(self.score), 4),
                "parts": {k: round(float(v), 4) for k, v in self.parts.items()}, "reasons": list(self.reasons),
                "is_key": self.is_key,
                "details": {k: round(float(v), 4) for k, v in self.details.items()}}


@dataclass
class Suggestions:
    """Every frame's score, in clip order, and notes about what could not be judged (e.g. faces)."""

    frames: list[FrameScore]
    notes: list[str] = field(default_factory=list)
    key_index: int | None = None
    seconds: float = 0.0            # how long scoring took (wall time)

    def ranked(self) -> list[FrameScore]:
        """Best first; ties go to the frame nearer the key photo, then to the earlier frame."""
        key_t = self.frames[self.key_index].time_s if self.key_index is not None and self.frames else 0.0
        return sorted(self.frames, key=lambda f: (-f.score, abs(f.time_s - key_t), f.index))

    def top(self, n: int, min_gap_s: float = MIN_GAP_S, key: bool = True) -> list[FrameScore]:
        """The ``n`` best moments, best first: frames at least ``min_gap_s`` apart (the frames next to a good frame
        are usually almost as good and show the same moment; 0 gives the plain ``ranked()[:n]``).

        ``key=False``: other moments than the key photo's, for a person looking for another one. The key frame
        still holds its place in the ranking, so frames close to it that score lower (the key photo's own moment,
        seen worse) are left out as they would be beside any better frame."""
        picked: list[FrameScore] = []
        shown: list[FrameScore] = []
        for f in self.ranked():
            if len(shown) >= n:
                break
            if all(abs(f.time_s - p.time_s) >= min_gap_s for p in picked):
                picked.append(f)
                if key or not f.is_key:
                    shown.append(f)
        return shown

    def best(self) -> FrameScore | None:
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def by_index(self, index: int) -> FrameScore:
        return self.frames[index]

    def to_json(self) -> dict:
        """``{"frames": [...best first...], "notes": [...], "key_index": int, "frame_count": int}``."""
        return {"frames": [f.to_json() for f in self.ranked()], "notes": list(self.notes),
                "key_index": self.key_index, "frame_count": len(self.frames)}

    @classmethod
    def from_json(cls, data: dict) -> "Suggestions":
        """The inverse of :meth:`to_json` (a stored ranking, e.g. the library's cache); ValueError when ``data``
        does not hold one entry per frame of the clip."""
        try:
            frames = sorted((FrameScore(int(f["index"]), float(f["time_s"]), float(f["score"]),
                                        {str(k): float(v) for k, v in f.get("parts", {}).items()},
                                        [str(r) for r in f.get("reasons", [])], bool(f.get("is_key", False)),
                                        {str(k): float(v) for k, v in f.get("details", {}).items()})
                             for f in data["frames"]), key=lambda f: f.index)
            count = int(data["frame_count"])
            key_index = None if data.get("key_index") is None else int(data["key_index"])
            notes = [str(n) for n in data.get("notes", [])]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a stored ranking: {exc}") from None
        if [f.index for f in frames] != list(range(count)) or (key_index is not None and not 0 <= key_index < count):
            raise ValueError("not a stored ranking: its frames do not cover the clip")
        return cls(frames, notes, key_index)
