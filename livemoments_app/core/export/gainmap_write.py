"""Which gain map an export writes and how, between :func:`still.encode` and the format writers.

``plan`` picks the forms the output format holds (HEIC: Apple's auxiliary image, plus ISO 21496-1 where the map has
those parameters; JPEG: Ultra HDR; PNG: none, said so) and codes the Ultra HDR gain-map image up front, because
the primary's XMP directory must state its length. ``encode`` then asks the plan for the EXIF (Apple maker-note
headroom) and XMP (hdrgm version, Container directory) of the primary, encodes the picture as it always does (for
HEIC, the plan's gain-map images in the same encoder process), and lets the plan finish the file. The picture's
pixels and metadata are exactly those of the SDR export.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from livemoments_app.core.export import apple_hdr, heic_gainmap, ultrahdr, xmp_edit
from livemoments_app.core.export.gainmap_forms import AppleForm, IsoForm, apple_form, iso_form
from livemoments_app.core.hdr import iso21496
from livemoments_app.core.hdr.model import AppleGainMapInfo, GainMap

PNG_NOTE = "HDR gain map (PNG cannot hold one; the picture is the SDR rendition)"
# x265 quality of the HEVC gain map. On the iPhone 15 Pro map 70 keeps every sample within 0.05 stops (mean 0.003)
# at 235 kB and 0.19 s for 3 MP; the picture's 85 would double the size for 0.03 stops.
HEIC_QUALITY = 70
HEIC_QUALITY_SMALL = 60


@dataclass
class GainMapPlan:
    fmt: str
    apple: AppleForm | None = None          # HEIC: the auxiliary image
    iso: IsoForm | None = None              # HEIC 'tmap' / the Ultra HDR parameters
    gain_map_jpeg: bytes | None = None      # JPEG: the coded gain-map image, metadata included
    maker_note: AppleGainMapInfo | None = None   # Apple maker-note values of the map (iPhone key photos)
    skipped: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return self.apple is not None or self.iso is not None

    def exif(self, exif: bytes | None) -> bytes | None:
        """The primary's EXIF with the map's Apple maker-note headroom values, where both have them."""
        if not self.writes or self.maker_note is None:
            return exif
        edited, _ = apple_hdr.with_maker_note_values(exif, self.maker_note)
        return edited

    def xmp_fields(self, motion: xmp_edit.MotionFields | None) -> dict:
        """Keyword arguments for :func:`xmp_edit.edit`: the Ultra HDR version and a directory that lists the gain
        map right after the Primary (then a Motion Photo's video, as Google's Ultra HDR Motion Photos do)."""
        if self.gain_map_jpeg is None:
            return {}
        items = list(motion.items) if motion is not None else [xmp_edit.DirectoryItem("image/jpeg", "Primary", 0, 0)]
        primary = items[0]
        gain_map = ultrahdr.directory_item(self.gain_map_jpeg)
        # Readers walk the directory back from the end of the file and honour Padding on the Primary only, so
        # bytes between the gain map and the next item (a Samsung SEF header before the video) count into the
        # gain map's Length, and the Primary ends right where the gain map starts.
        gain_map = replace(gain_map, length=gain_map.length + primary.padding)
        items = [replace(primary, padding=0), gain_map, *items[1:]]
        return {"directory": tuple(items), "gain_map_version": ultrahdr.HDRGM_VERSION}

    def heic_images(self, smaller_file: bool = False) -> list[tuple[np.ndarray, int]]:
        """The gain-map images a HEIC holds, as (pixels, quality) for the picture's encoder to code with the
        picture (one process for all)."""
        if self.fmt != "heic":
            return []
        quality = HEIC_QUALITY_SMALL if smaller_file else HEIC_QUALITY
        return [(pixels, quality) for pixels in heic_gainmap.images(self.apple, self.iso)]

    def finish(self, data: bytes, coded_maps: list[bytes]) -> bytes:
        """The encoded picture with the gain map added; ``coded_maps``: :meth:`heic_images` coded as one-image
        HEICs, in order."""
        if self.fmt == "heic":
            return heic_gainmap.add_gain_map(data, self.apple, self.iso, coded_maps)
        if self.fmt == "jpeg" and self.gain_map_jpeg is not None:
            return ultrahdr.join(data, self.gain_map_jpeg)
        return data


def _writable_iso(gain_map: GainMap, skipped: list[str]) -> IsoForm | None:
    """The map's hdrgm / ISO 21496-1 form, or None (with the reason in ``skipped``) when it has none."""
    form = iso_form(gain_map)
    if form is None:
        if gain_map.iso is not None:
            skipped.append("ISO 21496-1 gain-map metadata (an HDR base rendition is not supported)")
        return None
    try:
        iso21496.encode(form.params)
    except ValueError as exc:
        skipped.append(f"ISO 21496-1 gain-map metadata ({exc})")
        return None
    return form


def plan(gain_map: GainMap, fmt: str) -> GainMapPlan:
    """What a ``fmt`` ("heic", "jpeg", "png") export of a picture with ``gain_map`` writes."""
    if fmt == "png":
        return GainMapPlan(fmt, skipped=[PNG_NOTE])
    out = GainMapPlan(fmt, maker_note=gain_map.apple)
    if fmt == "heic":
        out.apple = apple_form(gain_map)
        out.iso = _writable_iso(gain_map, out.skipped) if gain_map.iso is not None else None
        if not out.writes:
            out.skipped.append("HDR gain map (it raises no pixel above SDR white)")
        return out
    out.iso = _writable_iso(gain_map, out.skipped)
    if out.iso is None:
        out.skipped.append("HDR gain map (it cannot be described as Ultra HDR)")
        return out
    out.gain_map_jpeg = ultrahdr.gain_map_jpeg(out.iso.pixels, out.iso.params)
    return out
