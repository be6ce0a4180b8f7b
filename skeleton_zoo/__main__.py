"""`python -m skeleton_zoo <command> [--flags]`: see `skeleton_zoo.cli`."""

import sys

from skeleton_zoo.cli import main

if __name__ == "__main__":
    sys.exit(main())
