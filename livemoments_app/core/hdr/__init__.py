"""HDR key photos: the gain map that brightens an SDR picture's highlights on an HDR display (Apple's auxiliary
'hdrgainmap' image, ISO 21496-1, Ultra HDR JPEG), kept through restoration, export and write-back."""

from livemoments_app.core.hdr.model import AppleGainMapInfo, GainMap, IsoGainMapParams

__all__ = ["AppleGainMapInfo", "GainMap", "IsoGainMapParams"]
