"""Files opened from the Finder while the app runs (macOS sends them as QEvent.FileOpen to the application)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtGui import QFileOpenEvent  # noqa: E402

from livemoments_app.ui.file_open import choose_paths  # noqa: E402
from tests.conftest import sample  # noqa: E402
from tests.ui_fixtures import window  # noqa: E402, F401  (fixtures)

pytestmark = [pytest.mark.gui]


def _post(path) -> None:
    QCoreApplication.postEvent(QCoreApplication.instance(), QFileOpenEvent(str(path)))


@pytest.mark.samples
def test_finder_open_of_a_live_photo_still_finds_its_video(qtbot, window):  # noqa: F811
    still = sample("apple_iphone6s_0FFBE909.jpeg")
    with qtbot.waitSignal(window.workspace.document.opened, timeout=30000):
        _post(still)
    doc = window.workspace.document
    assert doc.path == str(still)
    assert doc.live.clip.frame_count > 1           # the core paired it with its .mov
    assert window.pages.currentIndex() == 1        # the editor, not the start screen


@pytest.mark.samples
def test_finder_open_of_a_still_and_its_video_opens_them_as_a_pair(qtbot, window):  # noqa: F811
    still = sample("apple_iphone6s_0FFBE909.jpeg")
    video = sample("apple_iphone6s_0FFBE909_3.mov")
    with qtbot.waitSignal(window.workspace.document.opened, timeout=30000):
        _post(video)        # the Finder sends one event per selected file, in any order
        _post(still)
    assert window.workspace.document.path == str(still)
    assert window.workspace.document.partner == str(video)


def test_finder_open_of_a_bad_file_reports_it(qtbot, window, tmp_path):  # noqa: F811
    bad = tmp_path / "not_a_photo.jpg"
    bad.write_bytes(b"this is not a JPEG")
    with qtbot.waitSignal(window.workspace.document.openFailed, timeout=30000) as blocker:
        _post(bad)
    assert blocker.args == [str(bad)]
    assert not window.workspace.document.is_open


def test_choose_paths_pairs_only_a_still_with_a_video():
    assert choose_paths(["/a/IMG_1.MOV", "/a/IMG_1.HEIC"]) == ["/a/IMG_1.HEIC", "/a/IMG_1.MOV"]
    assert choose_paths(["/a/one.jpg", "/a/two.jpg"]) == ["/a/one.jpg"]
    assert choose_paths(["/a/one.jpg"]) == ["/a/one.jpg"]
