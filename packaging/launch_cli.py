"""Entry script of the bundled `livemoments` command, shipped next to the app in the same folder."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()   # for any child process this executable starts (see launch_app.py)
    from livemoments_app.cli import main

    sys.exit(main())
