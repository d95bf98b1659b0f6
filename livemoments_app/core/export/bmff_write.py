"""Writing ISO-BMFF boxes (the reading side is core/livephoto/bmff.py)."""

from __future__ import annotations

import struct


def _kind(kind: bytes | str) -> bytes:
    raw = kind.encode("latin-1") if isinstance(kind, str) else kind
    if len(raw) != 4:
        raise ValueError(f"a box type has four characters, got {kind!r}")
    return raw


def box(kind: bytes | str, payload: bytes) -> bytes:
    """A box around ``payload``; the 64-bit size form only when the 32-bit one cannot hold it."""
    if len(payload) + 8 < 1 << 32:
        return struct.pack(">I", len(payload) + 8) + _kind(kind) + payload
    return struct.pack(">I", 1) + _kind(kind) + struct.pack(">Q", len(payload) + 16) + payload


def full_box(kind: bytes | str, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | (flags & 0xFFFFFF)) + payload)


def header_size(payload_size: int) -> int:
    """Bytes :func:`box` puts before a payload of this size."""
    return 8 if payload_size + 8 < 1 << 32 else 16
