"""``prepare_export`` loads ahead of time everything an export would otherwise load while the user waits (the app
runs it on a worker when a result is shown): after it, exporting a HEIC and an Ultra HDR JPEG with gain maps
imports no module and starts no helper process besides the encoder itself (the app's way: the encoder in a child)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run with -c in a fresh interpreter: the modules already loaded by other tests would hide a missing one, and the
# encoder's "spawn" child must not re-run a script file.
_SCRIPT = """
import json, sys, tempfile
import numpy as np
from multiprocessing import resource_tracker
from livemoments_app.core.export import ExportOptions, StillMetadata, export_still, prepare_export
from livemoments_app.core.hdr import AppleGainMapInfo, GainMap, IsoGainMapParams

pixels = np.random.default_rng(1).integers(0, 255, (96, 128, 3), dtype=np.uint8)
iso = IsoGainMapParams(gain_min=(0.0,), gain_max=(1.7,), gamma=(1.0,), offset_sdr=(1 / 64,), offset_hdr=(1 / 64,),
                       capacity_min=0.0, capacity_max=1.7)
gain_map = GainMap(np.full((48, 64), 128, np.uint8), "apple", 3.36, iso=iso,
                   apple=AppleGainMapInfo(version=131072, xmp_headroom=3.36, maker_headroom=1.01, maker_gain=1.8))
tracker_before = resource_tracker._resource_tracker._pid
prepare_export()
tracker = resource_tracker._resource_tracker._pid
loaded = set(sys.modules)
folder = tempfile.mkdtemp()
hdr = [export_still(pixels, StillMetadata(), folder, ExportOptions(format=fmt, suffix=fmt, encoder_process=True),
                    gain_map=gain_map).hdr
       for fmt in ("heic", "jpeg")]
print(json.dumps({"new": sorted(set(sys.modules) - loaded), "hdr": hdr, "tracker_before": tracker_before,
                  "tracker": tracker, "tracker_after": resource_tracker._resource_tracker._pid}))
"""


def test_after_preparing_an_export_loads_nothing_more():
    done = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["hdr"] == [True, True]
    assert report["new"] == []
    if sys.platform != "win32":     # POSIX "spawn" needs multiprocessing's resource tracker: started by prepare
        assert report["tracker_before"] is None and report["tracker"] is not None
        assert report["tracker_after"] == report["tracker"]
