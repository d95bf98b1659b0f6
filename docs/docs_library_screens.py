"""Screenshots of the library for the docs (used by docs/make_images.py --only library; offscreen Qt).

A folder is put together from the real samples (symbolic links: the iPhone 15 Pro and 6s pairs, the Samsung and
Pixel HEIC Motion Photos) and a few Apple pairs written from scikit-image's sample photos, with a subfolder, a
still without a clip and a HEIC cut short. Three of the written clips shake (motion blur) around the key photo's
moment, as when the shutter is pressed, so their best moment lies elsewhere; on the others and on the real samples
the key photo ranks best. The app opens the folder as File › Open Folder does, finds every best moment, and the
photos whose best moment is not the key photo are marked; their best moments are then restored through the
queue.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from docs_app_screens import _grab, _wait

SAMPLE_LINKS = {"": ["apple_iphone15pro_IMG_4394.HEIC", "apple_iphone15pro_IMG_4394.mov",
                     "samsung_s22_oneui6_motionphoto.heic", "libmphoto_heic_motionphoto_pixel4video.heic"],
                "2019 trip": ["apple_iphone6s_0FFBE909.jpeg", "apple_iphone6s_0FFBE909_3.mov"]}
SKIMAGE_PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field"]


SHAKEN = {"astronaut", "chelsea", "rocket"}
KEY_INDEX = 10


def _clip(image: np.ndarray, frames: int = 16, shaken: bool = False) -> list[np.ndarray]:
    """A short pan across ``image`` (even sizes for the encoder), a little softer than the still."""
    import cv2

    h, w = image.shape[:2]
    step = max(1, w // 100)
    width = w - step * (frames - 1)
    size = (min(640, width) // 2 * 2, round(min(640, width) * h / width) // 2 * 2)
    out = [cv2.GaussianBlur(cv2.resize(np.ascontiguousarray(image[:, k * step:k * step + width]), size,
                                       interpolation=cv2.INTER_AREA), (0, 0), 0.8) for k in range(frames)]
    if shaken:
        from tests.support.damage import motion_blur

        for k in range(KEY_INDEX - 4, KEY_INDEX + 4):
            out[k] = motion_blur(out[k], 9, 20)
    return out


def make_folder(root: Path, samples: Path) -> Path:
    import skimage.data

    from tests.support.synth import write_apple_pair

    for sub, names in SAMPLE_LINKS.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        for name in names:
            if (samples / name).exists():
                os.symlink(samples / name, root / sub / name)
    for k, name in enumerate(SKIMAGE_PHOTOS):
        image = getattr(skimage.data, name)()
        write_apple_pair(root if k % 2 == 0 else root / "2019 trip", stem=f"IMG_{2000 + k}",
                         still_format="heic" if k % 2 == 0 else "jpeg", frames=_clip(image, shaken=name in SHAKEN),
                         still=image, key_index=KEY_INDEX)
    cut = (samples / "apple_iphone15pro_IMG_4394.HEIC").read_bytes()[:3000]
    (root / "2019 trip" / "IMG_3001.HEIC").write_bytes(cut)
    from PIL import Image

    Image.fromarray(skimage.data.coffee()).save(root / "notes.jpg")
    return root


def library_screenshots(samples: Path, save_png) -> None:
    from PySide6.QtCore import QItemSelectionModel, QSettings

    from livemoments_app.core.library.restore import RestoreSettings
    from livemoments_app.ui.app import create_application, create_window
    from livemoments_app.ui.viewmodels.settings import SettingsModel

    app = create_application([])
    work = Path(tempfile.mkdtemp())
    folder = make_folder(work / "Holiday 2025", samples)
    settings = SettingsModel(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    window = create_window(settings, theme_name="dark")
    window.resize(1280, 800)
    window.show()
    window._library().cache_path = work / "cache.sqlite3"
    lib = window.library
    window.open_folder(str(folder))
    _wait(app, lambda: lib.summary is not None and not lib.scanning, 120, "the scan")
    _wait(app, lambda: not lib.scoring, 900, "the best moments")
    grid = window.library_page.grid
    movable = [e for e in lib.entries if e.best is not None and not e.best.is_key_photo]
    for entry in movable[:3]:
        grid.selectionModel().select(lib.index(lib.row_of(entry.path)), QItemSelectionModel.SelectionFlag.Select)
    _wait(app, lambda: True, 1, "repaint")
    save_png(_grab(window), "library-grid.png", max_width=1280)

    window.queue.cache = lib.cache
    window.queue.add(movable[:4], RestoreSettings(out_dir=work / "out", restorer="classic"))
    # One result shown and the next one well under way (or the queue done, if it was short).
    _wait(app, lambda: window.queue.count("done") >= 1 and (not window.queue.active or any(
        i.state == "running" and i.fraction > 0.4 for i in window.queue.items)), 900, "a restore")
    save_png(_grab(window), "library-queue.png", max_width=1280)
    window.queue.cancel_all()
    _wait(app, lambda: not window.queue.active, 120, "the queue to stop")
    window.close()
