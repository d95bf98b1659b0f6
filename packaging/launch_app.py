"""Entry script of the bundled app (PyInstaller needs a file; the wheel uses the `livemoments-app` entry point)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # The HEIC encoder runs in a child process (core/export/encoder_process.py): in a frozen app that child is
    # this executable again, and freeze_support() turns it into the encoder instead of a second window.
    multiprocessing.freeze_support()
    from livemoments_app.ui.app import main

    sys.exit(main())
