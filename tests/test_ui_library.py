"""The library in the app: a folder opened from the menu, the command line or a drop becomes a grid; tiles open in
the editor; the scan shows cached folders at once and can be stopped; photos are marked with their check circle;
the restore queue restores best moments and cancels one photo or all of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, QSize, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from livemoments_app.core.library.entry import BestMoment  # noqa: E402
from tests.library_helpers import make_library, make_thousand, tree_state  # noqa: E402
from tests.ui_fixtures import scene, screenshot, window  # noqa: E402, F401  (fixtures)

pytestmark = [pytest.mark.gui]


def open_library(qtbot, win, folder: Path, cache: Path, *, scoring: bool = False, timeout: int = 60000):
    """Opens ``folder`` as File › Open Folder does and waits for every tile; scoring (seconds per photo) is held
    unless asked for."""
    win._library()
    lib = win.library
    lib.cache_path = cache
    lib.hold_scoring("test", not scoring)
    with qtbot.waitSignal(lib.scanFinished, timeout=timeout):
        win.open_paths([str(folder)])
    return lib


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("lib") / "Holiday"
    make_library(root)
    return root


def test_a_folder_opens_as_a_grid_with_what_was_skipped_and_what_is_broken(qtbot, window, folder,  # noqa: F811
                                                                          tmp_path):
    before = tree_state(folder)
    lib = open_library(qtbot, window, folder, tmp_path / "cache.sqlite3")
    page = window.library_page
    assert window.pages.currentWidget() is page
    assert window.windowTitle().startswith("Holiday")
    assert [e.name for e in lib.entries] == ["IMG_0001.HEIC", "PXL_0001.MP.jpg", "IMG_0002.JPG", "IMG_0003.HEIC",
                                             "IMG_0005.HEIC", "IMG_0006.HEIC"]
    assert lib.rowCount() == 6 and page.grid.model() is lib
    status = page.summary.text()
    for part in ("4 Live Photos", "1 still without a clip skipped", "1 video without a photo skipped",
                 "2 could not be read"):
        assert part in status
    broken = lib.index(lib.row_of(folder / "broken" / "IMG_0005.HEIC"))
    assert "IMG_0005.HEIC:" in broken.data(Qt.ItemDataRole.ToolTipRole)
    size = page.grid.cell_size()
    qtbot.waitUntil(lambda: lib.tile(0, size) is not None, timeout=5000)   # the thumbnail decodes
    assert lib.tile(broken.row(), size) is None                    # a broken file has none: drawn as a warning
    assert window.actions.library.isVisible()
    assert not window.actions.views["moment"].isVisible()          # the editor's views are hidden over the grid
    assert not any(a.isVisible() for a in window.editor_separators)  # and their separators (a stray rule each)
    screenshot(window, tmp_path, "library-grid")
    assert tree_state(folder) == before                            # nothing written beside the photos


def test_tiles_are_decoded_on_a_thread_never_in_a_paint(qtbot, window, folder, tmp_path, monkeypatch):  # noqa: F811
    import threading

    import livemoments_app.ui.viewmodels.library as library_vm

    lib = open_library(qtbot, window, folder, tmp_path / "cache.sqlite3")
    threads = []
    decode = library_vm.square_tile

    def recording(*args):
        threads.append(threading.current_thread())
        return decode(*args)

    monkeypatch.setattr(library_vm, "square_tile", recording)
    lib._tiles.clear()
    grid = window.library_page.grid
    grid.viewport().repaint()                                      # a paint asks for the tiles ...
    assert not lib._tiles and len(lib._decoding) >= 4              # ... and does not wait for them
    changed = []
    lib.dataChanged.connect(lambda a, _b, *_: changed.append(a.row()))
    qtbot.waitUntil(lambda: len(lib._tiles) >= 4, timeout=5000)
    assert threads and threading.main_thread() not in threads
    assert {0, 1, 2, 3} <= set(changed)                            # each tile repaints once it is there
    ratio = grid.devicePixelRatioF()
    thumb = grid.itemDelegate().thumb_rect(grid.visualRect(lib.index(0)))
    image = lib.tile(0, QSize(round(thumb.width() * ratio), round(thumb.height() * ratio)), 8.0 * ratio)
    assert image is not None and image.pixelColor(0, 0).alpha() == 0 and image.pixelColor(
        image.width() // 2, image.height() // 2).alpha() == 255     # corners rounded off, the middle opaque


def test_a_tile_opens_in_the_editor_and_the_library_comes_back(qtbot, window, folder, tmp_path):  # noqa: F811
    lib = open_library(qtbot, window, folder, tmp_path / "cache.sqlite3")
    grid = window.library_page.grid
    row = lib.row_of(folder / "IMG_0001.HEIC")
    centre = grid.visualRect(lib.index(row)).center()
    with qtbot.waitSignal(window.workspace.document.opened, timeout=30000):
        # A real double click is a press, a release, then the double-click press (QTest sends only the last).
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert window.workspace.document.path == str(folder / "IMG_0001.HEIC")
    assert window.pages.currentIndex() == 1
    assert all(a.isVisible() for a in window.editor_separators)    # the editor's toolbar groups are back
    assert lib.scoring_held or not lib.scoring                     # background scoring waits for the editor
    window.actions.library.trigger()                               # Library (Ctrl+L) brings the grid back
    assert window.pages.currentWidget() is window.library_page
    with qtbot.waitSignal(window.workspace.document.opened, timeout=30000):
        grid.openRequested.emit(lib.row_of(folder / "2024" / "PXL_0001.MP.jpg"))
    assert window.pages.currentIndex() == 1
    window.actions.close.trigger()                                 # and so does closing the photo (Ctrl+W)
    assert window.pages.currentWidget() is window.library_page


def test_a_dropped_folder_opens_as_a_library(qtbot, window, folder, tmp_path):  # noqa: F811
    window._library().cache_path = tmp_path / "cache.sqlite3"
    window.library.hold_scoring("test", True)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.library.scanFinished, timeout=60000):
        window.dropEvent(event)
    assert window.library.root == folder and window.library.rowCount() == 6


def test_the_second_opening_reads_nothing_and_shows_every_tile_at_once(qtbot, window, folder, tmp_path,  # noqa: F811
                                                                       monkeypatch):
    import livemoments_app.core.library.scan as scan_mod

    cache = tmp_path / "cache.sqlite3"
    first = open_library(qtbot, window, folder, cache)
    names = [e.name for e in first.entries]
    monkeypatch.setattr(scan_mod, "describe", lambda c: pytest.fail(f"{c.path.name} was read again"))
    rows_seen = []
    window.library.rowsInserted.connect(lambda _p, a, b: rows_seen.append(b - a + 1))
    lib = open_library(qtbot, window, folder, cache)
    assert [e.name for e in lib.entries] == names
    assert rows_seen == [len(names)]                               # one insertion: the whole folder at once


def test_a_thousand_photos_show_their_first_tiles_at_once_and_the_scan_can_be_stopped(qtbot, window,  # noqa: F811
                                                                                      tmp_path):
    root = make_thousand(tmp_path / "many")
    window._library().cache_path = tmp_path / "cache.sqlite3"
    lib = window.library
    lib.hold_scoring("test", True)
    window.open_paths([str(root)])
    qtbot.waitUntil(lambda: lib.rowCount() >= 20, timeout=30000)
    assert lib.first_shown_s is not None and lib.first_shown_s < 3.0   # generous: benchmarks/library.py measures
    with qtbot.waitSignal(lib.scanFinished, timeout=30000):
        window.library_page.cancel_button.click()
    shown = lib.rowCount()
    assert 20 <= shown < 1000
    assert window.library_page.summary.text().startswith("Stopped:")
    qtbot.wait(300)
    assert lib.rowCount() == shown                                 # nothing arrives after the stop
    assert not lib.busy


def test_photos_are_marked_with_their_check_circle(qtbot, window, folder, tmp_path):  # noqa: F811
    lib = open_library(qtbot, window, folder, tmp_path / "cache.sqlite3")
    grid = window.library_page.grid
    delegate = grid.itemDelegate()
    from livemoments_app.ui.widgets.library_grid import _check_rect

    for row in (0, 2):
        circle = _check_rect(delegate.thumb_rect(grid.visualRect(lib.index(row)))).center()
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=circle)
    assert grid.selected_rows() == [0, 2]
    button = window.library_page.restore_button
    assert button.text() == "Restore best moments (2)"
    assert button.isEnabled()
    screenshot(window, tmp_path, "library-marked")


def test_the_restore_dialog_takes_an_absolute_folder_only(qtbot, window, tmp_path, monkeypatch):  # noqa: F811
    from PySide6.QtCore import QSettings

    from livemoments_app.ui.widgets.library_dialog import RestoreDialog

    monkeypatch.setenv("HOME", str(tmp_path))
    dialog = RestoreDialog(2, "classic", QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), window)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText("restored")                         # relative: wherever the app was started from
    assert not dialog.ok_button.isEnabled() and dialog.note.text()
    dialog.folder_edit.setText("~/restored")
    assert dialog.ok_button.isEnabled()
    assert dialog.settings("classic", "cpu", []).out_dir == tmp_path / "restored"
    assert dialog.settings("classic", "cpu", []).encoder_process       # the app's queue keeps x265 off its window


def test_best_moments_are_found_in_the_background_and_shown(qtbot, window, tmp_path, monkeypatch):  # noqa: F811
    from tests.library_helpers import portrait_frames
    from tests.support.synth import write_apple_pair

    root = tmp_path / "small"
    write_apple_pair(root, stem="IMG_0100", frames=portrait_frames(8))
    lib = open_library(qtbot, window, root, tmp_path / "cache.sqlite3", scoring=True)
    qtbot.waitUntil(lambda: not lib.scoring, timeout=120000)
    entry = lib.entries[0]
    assert entry.best is not None and 0 <= entry.best.index < 8
    assert "Best moment" in lib.index(0).data(Qt.ItemDataRole.ToolTipRole)
    # Kept in the cache: the next opening shows it without scoring again.
    lib2 = open_library(qtbot, window, root, tmp_path / "cache.sqlite3", scoring=True)
    assert lib2.entries[0].best == entry.best
    assert not lib2.scoring
    # Opened in the editor, the photo shows the library's ranking instead of scoring its clip again.
    import livemoments_app.core.moments as moments_mod

    monkeypatch.setattr(moments_mod, "suggest", lambda *a, **k: pytest.fail("the editor scored the photo again"))
    ws = window.workspace
    with qtbot.waitSignal(ws.document.opened, timeout=30000):
        window.library_page.grid.openRequested.emit(0)
    qtbot.waitUntil(lambda: ws.moments.suggestions is not None, timeout=30000)
    assert ws.moments.suggestions.best().index == entry.best.index
    assert ws.moments.suggestions.to_json()["frames"] == lib2.entries[0].scores["ranking"]["frames"]


def _restorable(lib, scene_path: Path | None = None):
    """The entries as a finished scoring leaves them: best moments a few frames from the key photo."""
    for entry in lib.entries:
        if entry.ok:
            entry.best = BestMoment(index=30 if entry.path == scene_path else 3, time_s=1.0, score=0.9, offset_s=-0.2)
    return [e for e in lib.entries if e.ok]


def test_the_queue_restores_best_moments_and_cancels_one_or_all(qtbot, window, tmp_path, scene):  # noqa: F811
    from livemoments_app.core.library.restore import RestoreSettings
    from livemoments_app.ui.viewmodels.library_queue import CANCELLED, DONE, RUNNING, WAITING
    from tests.support.synth import write_apple_pair

    root = tmp_path / "queue"
    root.mkdir()
    os.symlink(scene, root / scene.name)                           # a 2000 x 1500 photo: seconds to restore
    for k in range(3):
        write_apple_pair(root, stem=f"IMG_01{k}")
    lib = open_library(qtbot, window, root, tmp_path / "cache.sqlite3")
    entries = _restorable(lib, root / scene.name)
    scene_entry = next(e for e in entries if e.path.name == scene.name)
    small = [e for e in entries if e is not scene_entry]
    out = tmp_path / "out"
    queue = window.queue
    panel = window.library_page.queue_panel
    settings = RestoreSettings(out_dir=out, restorer="classic", format="jpeg")
    queue.add([scene_entry, small[0], small[1], small[2]], settings)
    assert panel.isVisible() and len(panel.row_widgets()) == 4
    items = list(queue.items)
    assert [i.state for i in items[1:]] == [WAITING] * 3

    # Cancel one that waits: it never starts. Then the running one, from its row's button.
    qtbot.mouseClick(panel.row_widgets()[2].button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: items[0].state == RUNNING and items[0].fraction > 0.3, timeout=60000)
    qtbot.mouseClick(panel.row_widgets()[0].button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: items[0].finished, timeout=60000)
    assert items[0].state == CANCELLED and items[2].state == CANCELLED
    assert not any(out.glob(f"{Path(scene.name).stem.split('.')[0]}*")) if out.exists() else True

    # The next ones run and their results are shown as each finishes.
    qtbot.waitUntil(lambda: items[1].finished, timeout=120000)
    assert items[1].state == DONE, items[1].error
    written = items[1].result.written
    assert written and written[0].is_file() and written[0].parent == out
    assert items[1].result.preview[:2] == b"\xff\xd8"
    assert "Saved" in panel.row_widgets()[1].status.text()
    assert not panel.row_widgets()[1].thumb.pixmap().isNull()
    screenshot(window, tmp_path, "library-queue")

    # Cancel all stops what is left.
    queue.cancel_all()
    qtbot.waitUntil(lambda: not queue.active, timeout=60000)
    assert items[3].state in (DONE, CANCELLED)
    assert "cancelled" in panel.summary.text()


def test_a_folder_on_the_command_line_opens_the_library(tmp_path, folder):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "livemoments_app.ui.app", "--quit-after-load", str(folder)],
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"opened the folder {folder}: 4 Live Photos" in result.stdout
    assert list((tmp_path / "cache").rglob("library.sqlite3"))     # the cache lives in the user's cache folder
