"""The file suffixes of Live Photo parts. Imports nothing, so the UI can read them at start-up (the reader that
uses them, core.livephoto.open, pulls numpy in)."""

STILL_EXTS = (".heic", ".heif", ".hif", ".jpg", ".jpeg", ".avif")
VIDEO_EXTS = (".mov", ".mp4", ".m4v", ".qt", ".3gp")
