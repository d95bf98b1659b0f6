"""How the app words and marks an HDR photo: the "HDR" badge and one sentence on its gain map."""

from __future__ import annotations

BADGE_COLOUR = "#f2b632"        # a warm gold, legible on the dark and the light theme alike


def badge_html() -> str:
    return (f"<span style='background:{BADGE_COLOUR}; color:#1d1d1f; font-weight:600;'>&nbsp;HDR&nbsp;</span>")


def describe(ref) -> str:
    """"HDR photo: Apple gain map 1512 × 2016, brightens up to 3.4× SDR white (+1.75 stops)." for a GainMapRef or
    GainMap (anything with kind, size and headroom)."""
    import math

    from livemoments_app.core.hdr.model import KIND_NAMES     # numpy: not on the window's start-up path

    stops = math.log2(max(ref.headroom, 1.0))
    width, height = ref.size
    return (f"HDR photo: {KIND_NAMES.get(ref.kind, 'gain map')} {width} × {height}, brightens up to "
            f"{ref.headroom:.1f}× SDR white (+{stops:.2f} stops) on an HDR screen.")
