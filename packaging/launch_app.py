"""Entry script of the bundled app (PyInstaller needs a file; the wheel uses the `livemoments-app` entry point)."""

import sys

from livemoments_app.ui.app import main

if __name__ == "__main__":
    sys.exit(main())
