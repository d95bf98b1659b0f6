"""Opening Live Photos and Motion Photos: ``open_live_photo(path, partner=None) -> LivePhoto``.

Container parsing lives in small modules (bmff, heif, tiff, xmp, sef, movie) and format knowledge in apple,
google and samsung; open.py ties them together. Nothing here imports Qt, torch or diffusers.
"""

from livemoments_app.core.livephoto.model import ByteRange, KeyTimeSource, LiveFormat, LivePhoto, Still
from livemoments_app.core.livephoto.open import LiveParse, inspect_live_photo, open_live_photo

__all__ = ["ByteRange", "KeyTimeSource", "LiveFormat", "LiveParse", "LivePhoto", "Still", "inspect_live_photo",
           "open_live_photo"]
