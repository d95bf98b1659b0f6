"""Menus, toolbar commands and keyboard shortcuts, as QActions on the main window (so they work whatever has
focus, and hold-to-repeat works for frame stepping)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from livemoments_app.ui import theme
from livemoments_app.ui.workspace import VIEWS


@dataclass
class Actions:
    open: QAction
    open_folder: QAction
    library: QAction
    demo: QAction
    export: QAction
    close: QAction
    quit: QAction
    settings: QAction
    views: dict[str, QAction]
    fit: QAction
    actual: QAction
    zoom_in: QAction
    zoom_out: QAction
    flip: QAction
    prev: QAction
    next: QAction
    first: QAction
    last: QAction
    play: QAction
    shuttle_back: QAction
    shuttle_stop: QAction
    shuttle_forward: QAction
    choose: QAction
    go_key: QAction
    suggest: QAction
    restore: QAction
    cancel: QAction
    recent_menu: QMenu


def _action(window: QMainWindow, text: str, shortcuts=(), slot=None, icon: str | None = None,
            tip: str = "", repeat: bool = False) -> QAction:
    action = QAction(text, window)
    if icon:
        theme.bind_icon(action, icon)
    keys = [QKeySequence(k) if isinstance(k, str) else QKeySequence(k) for k in shortcuts]
    if keys:
        action.setShortcuts(keys)
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.setAutoRepeat(repeat)
    if tip:
        action.setToolTip(tip)
    if slot is not None:
        action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)
    return action


def build(window) -> Actions:
    """``window`` is the MainWindow; its workspace and methods are the targets."""
    ws = window.workspace
    tl = ws.timeline
    a = Actions(
        open=_action(window, "&Open…", [QKeySequence.StandardKey.Open], window.choose_files, "open",
                     "Open a Live Photo, a Motion Photo, or a still and a video (Ctrl+O)"),
        open_folder=_action(window, "Open &Folder…", ["Ctrl+Shift+O"], window.choose_folder, "open",
                            "Open a folder of Live Photos as a library (Ctrl+Shift+O)"),
        library=_action(window, "&Library", ["Ctrl+L"], window.show_library, "library",
                        "Back to the folder's photos (Ctrl+L)"),
        demo=_action(window, "Try the &Demo", [], window.open_demo, "demo"),
        export=_action(window, "&Export…", ["Ctrl+E"], window.show_export_dialog, "export",
                       "Save the restored photo (Ctrl+E)"),
        close=_action(window, "&Close Photo", [QKeySequence.StandardKey.Close], ws.document.close),
        quit=_action(window, "&Quit", [QKeySequence.StandardKey.Quit], window.close),
        settings=_action(window, "&Settings…", ["Ctrl+,"], window.show_settings, "settings", "Settings (Ctrl+,)"),
        views={},
        fit=_action(window, "&Fit", ["Ctrl+0"], lambda: window.active_canvas().view.set_fit(), "zoom-fit",
                    "Fit to the window (Ctrl+0)"),
        actual=_action(window, "&100 %", ["Ctrl+1"], lambda: window.active_canvas().set_actual_pixels(),
                       "zoom-100", "Actual pixels, 100 % (Ctrl+1)"),
        zoom_in=_action(window, "Zoom &In", [QKeySequence.StandardKey.ZoomIn, "Ctrl+="],
                        lambda: window.active_canvas().view.zoom_by(1.25), repeat=True),
        zoom_out=_action(window, "Zoom &Out", [QKeySequence.StandardKey.ZoomOut],
                         lambda: window.active_canvas().view.zoom_by(0.8), repeat=True),
        flip=_action(window, "&Flip Before/After", ["\\"], window.flip_compare),
        prev=_action(window, "&Previous Frame", ["Left", ","], lambda: tl.step(-1), repeat=True),
        next=_action(window, "&Next Frame", ["Right", "."], lambda: tl.step(1), repeat=True),
        first=_action(window, "F&irst Frame", ["Home"], tl.home),
        last=_action(window, "&Last Frame", ["End"], tl.end),
        play=_action(window, "&Play / Pause", ["Space"], tl.toggle_play),
        shuttle_back=_action(window, "Shuttle &Backward", ["J"], lambda: tl.shuttle(-1)),
        shuttle_stop=_action(window, "Shuttle &Stop", ["K"], lambda: tl.shuttle(0)),
        shuttle_forward=_action(window, "Shuttle &Forward", ["L"], lambda: tl.shuttle(1)),
        choose=_action(window, "&Use This Frame", ["Return", "Enter"], tl.choose_current),
        go_key=_action(window, "Go to the &Key Photo", ["Ctrl+K"], tl.go_to_key),
        suggest=_action(window, "Next &Suggested Moment", ["S"], ws.next_suggestion, "suggest",
                        "Show the next suggested moment (S)"),
        restore=_action(window, "&Restore Frame", ["Ctrl+R"], ws.start_restore, "restore"),
        cancel=_action(window, "&Cancel", ["Esc"], ws.restore.cancel, "cancel"),
        recent_menu=QMenu("Open &Recent", window),
    )
    a.suggest.setIconText("Best moments")
    group = QActionGroup(window)
    for k, (name, label) in enumerate(VIEWS):
        action = _action(window, label, [str(k + 1)], lambda n=name: ws.set_view(n),
                         {"moment": "moment", "alignment": "align", "compare": "compare"}[name],
                         f"{label} view ({k + 1})")
        action.setCheckable(True)
        action.setChecked(name == ws.view)
        group.addAction(action)
        a.views[name] = action
    ws.viewChanged.connect(lambda n: a.views[n].setChecked(True))
    _menus(window, a)
    return a


def _menus(window, a: Actions) -> None:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a.open)
    file_menu.addAction(a.open_folder)
    file_menu.addMenu(a.recent_menu)
    file_menu.addAction(a.demo)
    file_menu.addSeparator()
    file_menu.addAction(a.export)
    file_menu.addAction(a.close)
    file_menu.addSeparator()
    file_menu.addAction(a.settings)
    file_menu.addAction(a.quit)
    view_menu = bar.addMenu("&View")
    view_menu.addAction(a.library)
    view_menu.addSeparator()
    for action in a.views.values():
        view_menu.addAction(action)
    view_menu.addSeparator()
    for action in (a.fit, a.actual, a.zoom_in, a.zoom_out, a.flip):
        view_menu.addAction(action)
    frame_menu = bar.addMenu("F&rame")
    for action in (a.prev, a.next, a.first, a.last, a.go_key, a.suggest, None, a.play, a.shuttle_back,
                   a.shuttle_stop, a.shuttle_forward, None, a.choose):
        frame_menu.addSeparator() if action is None else frame_menu.addAction(action)
    restore_menu = bar.addMenu("&Restore")
    restore_menu.addAction(a.restore)
    restore_menu.addAction(a.cancel)
