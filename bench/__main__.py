"""``python -m bench [--quick] [--only SUITE,...] [--out PATH]``: see bench/runner.py."""

import sys

from bench.runner import main

if __name__ == "__main__":
    sys.exit(main())
