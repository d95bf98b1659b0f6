"""Look and feel: Fusion with a neutral dark (default) or light palette, a small stylesheet, and the SVG icons
tinted to the palette's text colour."""

from __future__ import annotations

import weakref
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

ACCENT = QColor(64, 156, 255)
ICON_DIR = Path(__file__).resolve().parent / "resources" / "icons"

_DARK = {
    "window": "#1e1f22", "base": "#17181a", "alt": "#232427", "text": "#e6e6e8", "muted": "#9a9ca3",
    "button": "#2b2d31", "border": "#34363b", "highlight": "#409cff", "panel": "#25272b",
}
_LIGHT = {
    "window": "#f3f3f5", "base": "#ffffff", "alt": "#ebebee", "text": "#1d1d1f", "muted": "#6b6d73",
    "button": "#ffffff", "border": "#d5d6da", "highlight": "#2f7fe0", "panel": "#fafafb",
}

_current: dict[str, str] = dict(_DARK)


def resolve(name: str) -> str:
    """'system' → 'dark' or 'light' from the platform's colour scheme (dark when it does not say)."""
    if name != "system":
        return name if name in ("dark", "light") else "dark"
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else Qt.ColorScheme.Unknown
    return "light" if scheme == Qt.ColorScheme.Light else "dark"


def colours() -> dict[str, str]:
    return _current


def _palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    p.setColor(role.Window, QColor(c["window"]))
    p.setColor(role.WindowText, QColor(c["text"]))
    p.setColor(role.Base, QColor(c["base"]))
    p.setColor(role.AlternateBase, QColor(c["alt"]))
    p.setColor(role.Text, QColor(c["text"]))
    p.setColor(role.Button, QColor(c["button"]))
    p.setColor(role.ButtonText, QColor(c["text"]))
    p.setColor(role.ToolTipBase, QColor(c["panel"]))
    p.setColor(role.ToolTipText, QColor(c["text"]))
    p.setColor(role.PlaceholderText, QColor(c["muted"]))
    p.setColor(role.Highlight, QColor(c["highlight"]))
    p.setColor(role.HighlightedText, QColor("#ffffff"))
    p.setColor(role.Link, QColor(c["highlight"]))
    p.setColor(role.Mid, QColor(c["border"]))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor(c["muted"]).darker(120))
    return p


def _stylesheet(c: dict[str, str]) -> str:
    return f"""
QMainWindow, QDialog {{ background: {c['window']}; }}
QToolBar {{ background: {c['window']}; border: none; border-bottom: 1px solid {c['border']}; spacing: 4px;
           padding: 4px 8px; }}
QToolBar QToolButton {{ padding: 5px 9px; border-radius: 6px; }}
QToolButton:hover {{ background: {c['button']}; }}
QToolButton:checked {{ background: {c['highlight']}; color: white; }}
QPushButton {{ padding: 6px 14px; border-radius: 6px; border: 1px solid {c['border']}; background: {c['button']}; }}
QPushButton:hover {{ border-color: {c['highlight']}; }}
QPushButton:disabled {{ color: {c['muted']}; }}
QPushButton[primary="true"] {{ background: {c['highlight']}; color: white; border: none; font-weight: 600; }}
QPushButton[primary="true"]:disabled {{ background: {c['border']}; color: {c['muted']}; }}
QFrame#Panel {{ background: {c['panel']}; border-left: 1px solid {c['border']}; }}
QFrame#TimelineBar {{ background: {c['panel']}; border-top: 1px solid {c['border']}; }}
QLabel#SectionTitle {{ color: {c['muted']}; font-size: 11px; font-weight: 700; letter-spacing: 1px;
                       text-transform: uppercase; padding-top: 2px; }}
QLabel#Help {{ color: {c['muted']}; font-size: 11px; }}
QLabel#Muted {{ color: {c['muted']}; }}
QLabel#Headline {{ font-size: 22px; font-weight: 600; }}
QLabel#Readout {{ font-size: 13px; font-weight: 600; }}
QFrame#MessageBar {{ background: #5a2a2a; border-bottom: 1px solid #7a3a3a; }}
QFrame#MessageBar QLabel {{ color: #fbeaea; }}
QFrame#MessageBar QPushButton {{ background: transparent; color: #fbeaea; border: 1px solid #a35b5b; padding: 3px 10px; }}
QPlainTextEdit#Details {{ background: #2a1818; color: #f0dede; border: none; font-family: monospace; }}
QProgressBar {{ border: 1px solid {c['border']}; border-radius: 4px; background: {c['base']}; height: 8px;
               text-align: center; }}
QProgressBar::chunk {{ background: {c['highlight']}; border-radius: 3px; }}
QComboBox, QSpinBox, QLineEdit {{ padding: 4px 8px; border-radius: 5px; border: 1px solid {c['border']};
                                  background: {c['base']}; }}
QSlider::groove:horizontal {{ height: 4px; background: {c['border']}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {c['text']}; width: 14px; margin: -6px 0; border-radius: 7px; }}
QSlider::sub-page:horizontal {{ background: {c['highlight']}; border-radius: 2px; }}
QStatusBar {{ color: {c['muted']}; border-top: 1px solid {c['border']}; }}
QSplitter::handle {{ background: {c['border']}; }}
"""


def apply_theme(app: QApplication, name: str) -> str:
    chosen = resolve(name)
    _current.clear()
    _current.update(_DARK if chosen == "dark" else _LIGHT)
    app.setStyle("Fusion")
    app.setPalette(_palette(_current))
    app.setStyleSheet(_stylesheet(_current))
    _tinted.cache_clear()
    _retint()
    return chosen


def _svg(name: str) -> str:
    return (ICON_DIR / f"{name}.svg").read_text("utf-8")


@lru_cache(maxsize=128)
def _tinted(name: str, colour: str) -> QIcon:
    data = QByteArray(_svg(name).replace("#COLOR", colour).encode("utf-8"))
    renderer = QSvgRenderer(data)
    icon = QIcon()
    for side in (16, 24, 32, 48):
        pixmap = QPixmap(side, side)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def app_icon() -> QIcon:
    """The application's icon (the one SVG source: packaging renders the bundle icons from it)."""
    return QIcon(str(ICON_DIR.parent / "livemoments.svg"))


def icon(name: str, colour: str | None = None) -> QIcon:
    return _tinted(name, colour or _current["text"])


_bound: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def bind_icon(target, name: str, colour: str | None = None) -> None:
    """Gives ``target`` (a QAction or a button) the icon ``name`` in ``colour`` (default: the text colour),
    re-tinted when the theme changes."""
    _bound[target] = (name, colour)
    target.setIcon(icon(name, colour))


def _retint() -> None:
    for target, (name, colour) in list(_bound.items()):
        try:
            target.setIcon(icon(name, colour))
        except RuntimeError:      # the C++ object is gone
            _bound.pop(target, None)
