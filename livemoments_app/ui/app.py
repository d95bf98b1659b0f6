"""The `livemoments-app` entry point: ``python -m livemoments_app.ui.app [PATH [VIDEO] | FOLDER] [--demo]``.

Starting stays light: nothing here (or in what the window imports) pulls in torch or diffusers; the restorers
are checked in the background after the window is shown.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

APP_NAME = "LiveMoments"
ORG_NAME = "LiveMoments"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="livemoments-app", description="Pick another moment of a Live Photo.")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="a Live Photo / Motion Photo, a still and its video, or a folder to show as a library")
    parser.add_argument("--demo", action="store_true", help="open the demo Live Photo")
    parser.add_argument("--theme", choices=("system", "dark", "light"), help="override the theme setting")
    parser.add_argument("--quit-after-shown", action="store_true", help=argparse.SUPPRESS)
    # Smoke test of an installed or bundled app: open PATH, print what was opened, exit (1 when opening failed).
    parser.add_argument("--quit-after-load", action="store_true", help=argparse.SUPPRESS)
    # The same, after exporting the key photo as HEIC into FOLDER the way the app exports (its encoder in a child
    # process: in a bundle, this executable started again as the encoder).
    parser.add_argument("--export-after-load", metavar="FOLDER", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def create_application(argv: list[str] | None = None):
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationDisplayName(APP_NAME)
    return app


def create_window(settings=None, theme_name: str | None = None):
    """The main window with its settings, theme and error reporting (tests call this with their own settings)."""
    from PySide6.QtWidgets import QApplication

    from livemoments_app.ui import theme
    from livemoments_app.ui.errors import reporter
    from livemoments_app.ui.main_window import MainWindow
    from livemoments_app.ui.viewmodels.settings import SettingsModel

    settings = settings or SettingsModel()
    app = QApplication.instance()
    theme.apply_theme(app, theme_name or settings.theme)
    app.setWindowIcon(theme.app_icon())
    settings.themeChanged.connect(lambda name: theme.apply_theme(app, name))
    return MainWindow(settings, reporter())


def _quit_after_load(app, window, path: str, export_to: str | None = None) -> None:
    document = window.workspace.document

    def finish(code: int, message: str) -> None:
        print(message, file=sys.stdout if code == 0 else sys.stderr, flush=True)
        window.close()
        app.exit(code)

    if os.path.isdir(path):
        library = window._library().library

        library.scanFinished.connect(lambda: finish(0, f"opened the folder {path}: {library.summary_text()}"))
        return

    def opened(live) -> None:
        message = (f"opened {document.title}: {live.format.name}, {live.clip.frame_count} frames, "
                   f"key frame {live.key_frame_index}, chosen {window.workspace.timeline.chosen} ({live.still_path})")
        if export_to is None:
            finish(0, message)
            return
        from livemoments_app.ui.viewmodels.export import ExportChoice

        print(message, flush=True)
        job = window.workspace.export.start(live.still.pixels, live, live.key_frame_index,
                                            ExportChoice(folder=export_to, format="heic", quality=85))
        job.succeeded.connect(lambda outcome: finish(0, f"exported {outcome.paths[0]}"))
        job.failed.connect(lambda exc: finish(1, f"could not export: {exc}"))

    document.opened.connect(opened)
    document.openFailed.connect(lambda path: finish(1, f"could not open {path}"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    app = create_application()
    from PySide6.QtCore import QTimer

    from livemoments_app.ui.errors import install_hooks

    install_hooks()
    window = create_window(theme_name=args.theme)
    window.show()
    if args.quit_after_shown:
        def report() -> None:
            print(f"shown_after_s={time.perf_counter() - _T0:.3f}", flush=True)
            window.close()
            app.quit()
        QTimer.singleShot(0, report)
    elif args.paths or args.demo:
        if args.quit_after_load or args.export_after_load:
            _quit_after_load(app, window, args.paths[0] if args.paths else "", args.export_after_load)
        if args.paths:
            window.open_paths(args.paths[:2])
        else:
            window.open_demo()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
