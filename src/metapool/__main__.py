"""``python -m metapool``: the :mod:`metapool.cli` command line."""

import sys

from metapool.cli import main

if __name__ == "__main__":
    sys.exit(main())
