"""Entry script of the bundled `livemoments` command, shipped next to the app in the same folder."""

import sys

from livemoments_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
