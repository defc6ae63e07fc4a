"""Run every benchmark in this folder (``bench_*.py``) one after the other and print its figures.

Each benchmark measures its own comparisons side by side in one run and prints ratios;
this script only runs them in sequence: ``.venv/bin/python benchmarks/run_all.py [--quick]``.
Arguments after the script name are passed to every benchmark that accepts them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    status = 0
    for script in sorted(here.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        done = subprocess.run([sys.executable, str(script), *sys.argv[1:]], cwd=here.parent)
        status = status or done.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
