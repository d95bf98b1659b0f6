"""HDR in the app: the badge in the photo's facts, the compare view's HDR overlay of the restored photo's gain map,
and the export dialog's badge, "Keep HDR" option and PNG note; SDR photos show none of it."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from tests.conftest import sample  # noqa: E402
from tests.ui_fixtures import (open_and_wait, scene, screenshot, wait_restorers,  # noqa: E402, F401  (fixtures)
                               window)

pytestmark = [pytest.mark.gui]


def _restore_chosen(qtbot, ws, steps: int) -> object:
    wait_restorers(qtbot, ws)
    ws.restore.size_key = "half"
    ws.timeline.step(steps)
    ws.timeline.choose_current()
    with qtbot.waitSignal(ws.restore.resultReady, timeout=180000):
        ws.start_restore()
    return ws.restore.results[ws.timeline.chosen]


@pytest.mark.samples
def test_an_hdr_photo_is_marked_restored_with_its_gain_map_and_shown(qtbot, window, tmp_path):  # noqa: F811
    from PySide6.QtWidgets import QScrollArea

    window.resize(1280, 800)
    ws = window.workspace
    open_and_wait(qtbot, window, sample("apple_iphone15pro_IMG_4394.HEIC"))
    panel = window.side_panel
    assert ">&nbsp;HDR&nbsp;<" in panel.info.text()
    assert "Apple gain map 1512 × 2016" in panel.info.toolTip() and "3.4×" in panel.info.toolTip()
    assert panel.findChild(QScrollArea).verticalScrollBar().maximum() == 0      # still fits without scrolling
    screenshot(window, tmp_path, "hdr_photo_opened")

    result = _restore_chosen(qtbot, ws, -8)
    gain_map = result.image.gain_map
    assert gain_map is not None and gain_map.kind == "apple"
    h, w = result.image.pixels.shape[:2]
    assert gain_map.size == (round(w / 2), round(h / 2))
    compare = window.viewer.compare_view
    assert ws.view == "compare" and compare.hdr_button.isVisible() and not compare.legend.isVisible()
    assert compare.single.picture is ws.compare.after
    with qtbot.waitSignal(ws.restore.hdrOverlayReady, timeout=60000):
        compare.hdr_button.click()
    qtbot.waitUntil(lambda: ws.compare.showing_hdr, timeout=10000)
    assert compare.single.picture is ws.compare.hdr and ws.compare.hdr.size() == ws.compare.after.size()
    assert compare.legend.isVisible() and "+1.75 stops" in compare.legend.high.text()
    assert compare.single.labels[1] == "After · HDR boost"
    screenshot(window, tmp_path, "compare_hdr_overlay")
    # Off again: the restored picture itself.
    compare.hdr_button.click()
    assert compare.single.picture is ws.compare.after and not compare.legend.isVisible()


@pytest.mark.samples
def test_export_dialog_offers_hdr_for_an_hdr_result(qtbot, window, tmp_path):  # noqa: F811
    from livemoments_app.core.livephoto import inspect_live_photo
    from livemoments_app.ui import hdr_text
    from livemoments_app.ui.widgets.export_dialog import ExportDialog

    ref = inspect_live_photo(sample("apple_iphone15pro_IMG_4394.HEIC")).still.hdr
    dialog = ExportDialog(str(tmp_path), "IMG_4394.HEIC", (3024, 4032), window, "heic", True,
                          hdr=hdr_text.describe(ref))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.badge.isVisible() and "3.4×" in dialog.badge.toolTip()
    assert dialog.hdr.isVisible() and dialog.hdr.isEnabled() and dialog.hdr.isChecked() and dialog.choice().hdr
    assert "iPhone" in dialog.hdr_note.text()
    screenshot(dialog, tmp_path, "export_dialog_hdr")
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("jpeg"))
    assert "Ultra HDR" in dialog.hdr_note.text() and dialog.choice().hdr
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("png"))
    assert not dialog.hdr.isEnabled() and not dialog.hdr.isChecked() and not dialog.choice().hdr
    assert "PNG cannot hold" in dialog.hdr_note.text() and dialog.hdr_note.isVisible()
    screenshot(dialog, tmp_path, "export_dialog_hdr_png")
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("heic"))
    assert dialog.hdr.isChecked() and dialog.choice().hdr                 # the choice comes back
    dialog.hdr.setChecked(False)
    assert not dialog.choice().hdr and "SDR only" in dialog.hdr_note.text()
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("png"))
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("jpeg"))
    assert not dialog.hdr.isChecked()                                     # ... also when it was "no"


def test_export_dialog_of_an_sdr_result_has_no_hdr_option(qtbot, window, tmp_path):  # noqa: F811
    from livemoments_app.ui.widgets.export_dialog import ExportDialog

    dialog = ExportDialog(str(tmp_path), "IMG_1.JPG", (4032, 3024), window, "jpeg")
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.badge.isVisible() and not dialog.hdr.isVisible() and not dialog.choice().hdr


def test_an_sdr_photo_shows_no_hdr(qtbot, window, scene, tmp_path):  # noqa: F811
    ws = window.workspace
    open_and_wait(qtbot, window, scene)
    assert "HDR" not in window.side_panel.info.text()
    result = _restore_chosen(qtbot, ws, -12)
    assert result.image.gain_map is None
    assert ws.compare.available and ws.compare.hdr_stops is None
    assert not window.viewer.compare_view.hdr_button.isVisible()


def test_the_keep_hdr_choice_reaches_the_export(monkeypatch, tmp_path):
    import numpy as np

    from livemoments_app.core import pipeline
    from livemoments_app.core.hdr.model import GainMap
    from livemoments_app.core.restore.base import RestoredImage
    from livemoments_app.ui.viewmodels import export

    seen = []
    monkeypatch.setattr(pipeline, "write_result", lambda image, _live, _target, options, **_k:
                        seen.append((image, options)) or pipeline.Written([tmp_path / "x.jpg"], []))
    image = RestoredImage(np.zeros((4, 4, 3), np.uint8), "classic",
                          gain_map=GainMap(np.zeros((2, 2), np.uint8), "apple", 2.0))
    for keep in (True, False):
        export._export(image, None, 0, export.ExportChoice(folder=str(tmp_path), hdr=keep), None)
    assert [options.hdr for _image, options in seen] == [True, False]
    assert all(options.encoder_process for _image, options in seen)    # x265 leaves the window a core
    assert all(image_seen is image for image_seen, _options in seen)


def test_the_export_status_says_hdr(qtbot, tmp_path):
    from livemoments_app.ui.viewmodels.export import ExportModel, ExportOutcome
    from livemoments_app.ui.workers import Lanes

    lanes = Lanes()
    model = ExportModel(lanes)
    model._on_done(ExportOutcome([tmp_path / "IMG_4394_LM.HEIC"], [], hdr=True))
    assert "IMG_4394_LM.HEIC (HDR)" in model.status
    model._on_done(ExportOutcome([tmp_path / "IMG_4394_LM.png"], ["HDR gain map (PNG cannot hold one)"]))
    assert "(HDR)" not in model.status and "PNG cannot hold one" in model.status
    lanes.shutdown()


def test_a_result_whose_gain_map_could_not_be_made_says_so(qtbot):
    import numpy as np

    from livemoments_app.core.restore.base import RestoredImage
    from livemoments_app.ui.viewmodels.restore import RestoreModel
    from livemoments_app.ui.workers import Lanes

    lanes = Lanes()
    model = RestoreModel(lanes)
    live = object()
    model.live = live
    image = RestoredImage(np.zeros((4, 4, 3), np.uint8), "classic",
                          info={"hdr": {"skipped": "IMG_1.HEIC: the HDR gain map cannot be decoded (test)"}})
    model._on_result(live, 3, "classic", "full", (image, None, None, None))
    assert model.status.startswith("Restored") and "Without HDR: IMG_1.HEIC: the HDR gain map cannot" in model.status
    lanes.shutdown()
