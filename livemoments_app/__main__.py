import sys

from livemoments_app.cli import main

sys.exit(main())
