"""The main window: lays out the widgets around one Workspace and routes the commands that need a dialog."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (QApplication, QFileDialog, QLabel, QMainWindow, QSplitter, QStackedWidget, QToolBar,
                               QVBoxLayout, QWidget)

from livemoments_app.core.file_types import STILL_EXTS, VIDEO_EXTS
from livemoments_app.ui import actions as actions_mod, hdr_text
from livemoments_app.ui.errors import ErrorReporter
from livemoments_app.ui.file_open import FileOpenFilter
from livemoments_app.ui.viewmodels.document import split_still_and_video
from livemoments_app.ui.viewmodels.export import can_write_back, default_folder
from livemoments_app.ui.viewmodels.settings import SettingsModel
from livemoments_app.ui.widgets.canvas import ImageCanvas
from livemoments_app.ui.widgets.message_bar import MessageBar
from livemoments_app.ui.widgets.side_panel import SidePanel
from livemoments_app.ui.widgets.start_screen import StartScreen
from livemoments_app.ui.widgets.timeline_bar import TimelineBar
from livemoments_app.ui.widgets.viewer_area import ViewerArea
from livemoments_app.ui.workspace import Workspace

OPEN_FILTER = ("Live Photos and Motion Photos ("
               + " ".join(f"*{ext}" for ext in STILL_EXTS + (".png",) + VIDEO_EXTS) + ");;All files (*)")


class MainWindow(QMainWindow):
    def __init__(self, settings: SettingsModel, reporter: ErrorReporter) -> None:
        super().__init__()
        self.settings = settings
        self.reporter = reporter
        self.workspace = Workspace(settings, self)
        self.setWindowTitle("LiveMoments")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self.setMinimumSize(900, 600)
        self.library_page = None     # the folder open as a library: built on first use (ui/widgets/library_page)
        self.actions = actions_mod.build(self)
        self._build_toolbar()

        self.message_bar = MessageBar(reporter, self)
        self.start_screen = StartScreen(settings, self)
        self.viewer = ViewerArea(self.workspace, self)
        self.side_panel = SidePanel(self.workspace, self)
        self.timeline_bar = TimelineBar(self.workspace.timeline, self.workspace.frames, self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.viewer)
        splitter.addWidget(self.side_panel)
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        self.splitter = splitter
        editor = QWidget(self)
        editor_layout = QVBoxLayout(editor)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        editor_layout.setSpacing(0)
        editor_layout.addWidget(splitter, 1)
        editor_layout.addWidget(self.timeline_bar)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.start_screen)
        self.pages.addWidget(editor)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.zoom_label = QLabel(self)
        self.zoom_label.setObjectName("Muted")
        self.statusBar().addPermanentWidget(self.zoom_label)

        ws = self.workspace
        self.start_screen.openRequested.connect(self.choose_files)
        self.start_screen.folderRequested.connect(self.choose_folder)
        self.start_screen.demoRequested.connect(self.open_demo)
        self.start_screen.recentRequested.connect(self.open_path)
        self.side_panel.exportRequested.connect(self.show_export_dialog)
        ws.document.opened.connect(self._on_opened)
        ws.document.closed.connect(self._on_closed)
        ws.document.loadingChanged.connect(self._on_loading)
        ws.frame_view.changed.connect(self._update_zoom_label)
        ws.compare.view.changed.connect(self._update_zoom_label)
        ws.viewChanged.connect(lambda _v: self._update_zoom_label())
        ws.frames.frameReady.connect(lambda _i, _p: self._update_zoom_label())
        ws.compare.picturesChanged.connect(self._update_zoom_label)
        ws.export.exported.connect(lambda r: self.statusBar().showMessage(f"Saved {os.fspath(r.paths[0])}", 15000))
        settings.recentChanged.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        self._update_enabled()
        ws.compare.picturesChanged.connect(self._update_enabled)
        ws.export.stateChanged.connect(self._update_enabled)
        strip = self.timeline_bar.filmstrip
        ws.restore.resultReady.connect(lambda _i: strip.set_restored(ws.restore.results))
        ws.document.opened.connect(lambda _l: strip.set_restored(()))
        strip.set_moments(ws.moments)
        ws.moments.suggestionsChanged.connect(self._update_enabled)
        self._restore_window_state()
        # Files opened from the Finder while the app runs arrive as FileOpen events on the application.
        self.file_open_filter = FileOpenFilter(self)
        self.file_open_filter.filesOpened.connect(self._open_from_system)
        QApplication.instance().installEventFilter(self.file_open_filter)
        # Checking restorers may import torch: do it in the background once the window is up.
        QTimer.singleShot(0, ws.restore.load_restorers)

    # Layout -------------------------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("MainToolbar")
        bar.setMovable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        a = self.actions
        bar.addAction(a.open)
        bar.addAction(a.library)
        a.library.setVisible(False)
        # The editor's groups, separators included: the library page hides them (a separator left between hidden
        # actions still draws its rule).
        self.editor_separators = [bar.addSeparator()]
        for action in a.views.values():
            bar.addAction(action)
        self.editor_separators.append(bar.addSeparator())
        bar.addAction(a.fit)
        bar.addAction(a.actual)
        self.editor_separators.append(bar.addSeparator())
        bar.addAction(a.suggest)
        spacer = QWidget(bar)
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        bar.addWidget(spacer)
        bar.addAction(a.export)
        bar.addAction(a.settings)
        self.addToolBar(bar)
        self.toolbar = bar

    def _fit_toolbar(self) -> None:
        """Zoom and Best moments lose their labels (not their tooltips) when the window is too narrow for every
        label: else Export and Settings would slip behind the toolbar's overflow arrow (the labelled toolbar needs
        ~970 px, the window may be 900)."""
        bar = getattr(self, "toolbar", None)
        if bar is None:
            return
        buttons = [bar.widgetForAction(a) for a in (self.actions.fit, self.actions.actual, self.actions.suggest)]
        for button in buttons:
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.layout().invalidate()
        if bar.sizeHint().width() > self.width():
            for button in buttons:
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        self._fit_toolbar()

    def active_canvas(self) -> ImageCanvas:
        return self.viewer.active_canvas()

    def _update_zoom_label(self) -> None:
        if self.workspace.document.is_open:
            canvas = self.active_canvas()
            fit = " (fit)" if canvas.view.fit else ""
            self.zoom_label.setText(f"Zoom {canvas.zoom() * 100:.0f} %{fit}")

    def _update_enabled(self) -> None:
        ws = self.workspace
        is_open = ws.document.is_open
        for action in (*self.actions.views.values(), self.actions.fit, self.actions.actual, self.actions.close,
                       self.actions.restore, self.actions.choose):
            action.setEnabled(is_open)
        self.actions.export.setEnabled(ws.can_export)
        self.actions.suggest.setEnabled(bool(ws.moments.top))

    # Opening ------------------------------------------------------------------------------------------------
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open a Live Photo (select the still and its video together for an Apple pair)",
            self.settings.last_dir, OPEN_FILTER)
        if paths:
            self.settings.last_dir = os.path.dirname(paths[0])
            self.open_paths(paths)

    def open_paths(self, paths: list[str]) -> None:
        if len(paths) == 1 and os.path.isdir(paths[0]):
            self.open_folder(paths[0])
            return
        still, video = split_still_and_video(paths)
        self.workspace.document.open(still, video)

    def _open_from_system(self, paths: list[str]) -> None:
        self.open_paths(paths)
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def open_path(self, path: str) -> None:
        self.workspace.document.open(path)

    def open_demo(self) -> None:
        try:
            self.workspace.open_demo()
        except FileNotFoundError as exc:
            self.reporter.report_exception(exc, "Opening the demo")

    def _on_loading(self, loading: bool) -> None:
        if loading:
            self.statusBar().showMessage("Opening…")
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.statusBar().clearMessage()
            self.unsetCursor()

    def _on_opened(self, _live) -> None:
        self.pages.setCurrentIndex(1)
        self.setWindowTitle(f"{self.workspace.document.title} — LiveMoments")
        self._update_enabled()
        self._update_zoom_label()
        self.viewer.frame_canvas.setFocus()

    def _on_closed(self) -> None:
        self.pages.setCurrentWidget(self.library_page if self._library_open() else self.start_screen)
        self.setWindowTitle("LiveMoments")
        self.zoom_label.setText("")
        self._update_enabled()

    # The library ----------------------------------------------------------------------------------------------
    def _library(self):
        if self.library_page is None:
            from livemoments_app.ui.viewmodels.library import LibraryModel
            from livemoments_app.ui.viewmodels.library_queue import RestoreQueueModel
            from livemoments_app.ui.widgets.library_page import LibraryPage

            self.library = LibraryModel(self)
            self.queue = RestoreQueueModel(self)
            self.queue.stateChanged.connect(lambda: self.library.hold_scoring("queue", self.queue.active))
            self.library_page = LibraryPage(self.library, self.queue, self.settings, self)
            self.library_page.openRequested.connect(self.open_path)
            self.workspace.moments.known = self.library.cached_suggestions
            self.library.folderChanged.connect(lambda folder: self.actions.library.setVisible(bool(folder)))
            self.pages.addWidget(self.library_page)
            self.pages.currentChanged.connect(self._on_page)
        return self.library_page

    def _on_page(self, _index: int) -> None:
        # The editor's views and zoom mean nothing over the grid.
        in_library = self.pages.currentWidget() is self.library_page
        for action in (*self.actions.views.values(), self.actions.fit, self.actions.actual, self.actions.suggest,
                       *self.editor_separators):
            action.setVisible(not in_library)
        self._fit_toolbar()
        self.library.hold_scoring("editor", not in_library)

    def _library_open(self) -> bool:
        return self.library_page is not None and self.library.is_open

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of Live Photos", self.settings.last_dir)
        if folder:
            self.settings.last_dir = folder
            self.open_folder(folder)

    def open_folder(self, folder: str) -> None:
        self._library().library.open_folder(folder)
        self.show_library()

    def show_library(self) -> None:
        if self._library_open():
            self.pages.setCurrentWidget(self.library_page)
            self.setWindowTitle(f"{self.library.root.name or self.library.root} — LiveMoments")
            self.library_page.grid.setFocus()

    def _fill_recent_menu(self) -> None:
        menu = self.actions.recent_menu
        menu.clear()
        recent = self.settings.recent_files
        for path in recent:
            action = menu.addAction(os.path.basename(path))
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if recent:
            menu.addSeparator()
            menu.addAction("Clear the list", self.settings.clear_recent)
        menu.setEnabled(bool(recent))

    # Drag and drop ------------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths[:2])

    # Dialog commands ----------------------------------------------------------------------------------------
    def flip_compare(self) -> None:
        if self.workspace.compare.available:
            self.workspace.set_view("compare")
            self.workspace.compare.flip()

    def show_settings(self) -> None:
        from livemoments_app.ui.widgets.settings_dialog import SettingsDialog

        restorers = [(r.name, r.label) for r in self.workspace.restore.restorers] or [("classic", "Classic")]
        SettingsDialog(self.settings, restorers, self).exec()

    def show_export_dialog(self) -> None:
        from livemoments_app.ui.widgets.export_dialog import ExportDialog

        result = self.workspace.current_result()
        live = self.workspace.document.live
        if result is None or live is None:
            return
        source = os.fspath(live.still_path)
        folder = default_folder(source, self.settings.last_dir)
        pixels = result.image.pixels
        fmt = "heic" if source.lower().endswith((".heic", ".heif")) else "jpeg"
        gain_map = getattr(result.image, "gain_map", None)
        dialog = ExportDialog(folder, os.path.basename(source), (pixels.shape[1], pixels.shape[0]), self, fmt,
                              can_write_back(live), hdr=hdr_text.describe(gain_map) if gain_map is not None else None)
        if dialog.exec():
            self.workspace.export.start(result.image, live, result.frame_index, dialog.choice())

    # Window state -------------------------------------------------------------------------------------------
    def _restore_window_state(self) -> None:
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event) -> None:
        QApplication.instance().removeEventFilter(self.file_open_filter)
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        if self.library_page is not None:
            self.queue.shutdown()
            self.library.shutdown()
        self.workspace.shutdown()
        super().closeEvent(event)
