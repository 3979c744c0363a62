"""``python -m search_engine.worker``: run the evaluation worker and exit with its code."""

from __future__ import annotations

import sys

from search_engine.worker.cli import main

if __name__ == "__main__":
    sys.exit(main())
