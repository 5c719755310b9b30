"""The engine benchmark as a plain script; the same as `altsim bench`.

Run: python benchmarks/bench.py [--quick] [--device cpu|cuda] [--out FILE]
"""

import sys

from altsim.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", *sys.argv[1:]]))
