"""Typed errors. Every message names the file (when there is one) and what is wrong with it."""

from __future__ import annotations

import os


class LivePhotoError(Exception):
    """Base class of every error the user can be shown as one line."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = os.fspath(path) if path is not None else None
        self.reason = message
        super().__init__(f"{os.path.basename(self.path)}: {message}" if self.path else message)


class NotALivePhotoError(LivePhotoError):
    """The file is readable but holds no clip we can pair with a still (a plain JPEG, a plain video)."""


class PairingError(LivePhotoError):
    """Two files were given or found, but they do not belong together (ContentIdentifier mismatch...)."""


class CorruptFileError(LivePhotoError):
    """Structure is broken: truncated, offsets outside the file, hostile XMP, absurd sizes."""


class DecodeError(LivePhotoError):
    """The container parsed, but the still or the clip cannot be decoded."""


class UnreadableFileError(LivePhotoError):
    """Missing, zero bytes, a directory, or no permission to read."""


class AlignmentError(LivePhotoError):
    """The key photo could not be registered onto the frame (too few inliers...)."""


class RestoreError(LivePhotoError):
    """A restorer failed or is unavailable (with the reason)."""


class ExportError(LivePhotoError):
    """Writing the result failed; the source is untouched and no partial file is left."""


class ModelFilesError(LivePhotoError):
    """Model weights are missing or do not match the expected layout; the message lists what."""


def one_line(text: str) -> str:
    """Text from a file (identifiers, box names, decoder messages) made safe for a one-line error message."""
    return "".join(c if c.isprintable() else "?" for c in text)


def unreadable(exc: OSError, path: str | os.PathLike) -> UnreadableFileError:
    """The one-line error for an OSError met while opening ``path``."""
    if isinstance(exc, IsADirectoryError):
        return UnreadableFileError("is a folder, not a file", path)
    if isinstance(exc, FileNotFoundError):
        return UnreadableFileError("no such file", path)
    if isinstance(exc, PermissionError):
        return UnreadableFileError("no permission to read the file", path)
    return UnreadableFileError(f"cannot be opened ({exc.strerror or exc})", path)
