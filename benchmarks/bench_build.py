"""Benchmark of ``derive build``, measured side by side in one run.

1. Cold ``derive build --force`` (a fresh process; every example derived, checked against
   torch, rendered; every notebook executed, in one shared kernel) against executing the same
   notebooks with nbclient, one fresh kernel each (what mkdocs-jupyter's ``execute: true``
   does). Target: the build at least 3x faster. Measured twice over: the whole command with
   the page providers of ``derive.build.PROVIDERS`` that exist, and the examples alone.
2. A no-op ``derive build`` against ``derive --version`` (median of interleaved runs).
   Target: at most 2x.

Everything runs on a copy of ``examples/`` in a temporary directory; the checkout is not
touched. Run: ``.venv/bin/python benchmarks/bench_build.py`` (``--runs N`` for the no-op
medians, ``--quick`` for fewer runs).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DERIVE = str(Path(sys.executable).with_name("derive"))


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def nbclient_one_kernel_each(notebooks: list[Path]) -> float:
    """Execute each notebook in a fresh kernel, one after the other; total seconds."""
    import nbclient
    import nbformat

    t0 = time.perf_counter()
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per no-op median")
    parser.add_argument("--quick", action="store_true", help="fewer no-op runs")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs

    with tempfile.TemporaryDirectory(prefix="derive-bench-") as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "examples", root / "examples")

        only_examples = (
            "import sys; from derive.build import build; "
            "sys.exit(build(sys.argv[1], force=True, providers={}, log=lambda line: None))"
        )
        t_examples = timed([sys.executable, "-c", only_examples, str(root)], root)
        t_full = timed([DERIVE, "build", "--force", "--root", str(root)], root)
        notebooks = sorted((root / "docs" / "examples" / "notebooks").glob("*.ipynb"))
        t_nbclient = nbclient_one_kernel_each(notebooks)

        noop, version = [], []
        for _ in range(runs):  # interleaved, so both see the same machine load
            noop.append(timed([DERIVE, "build", "--root", str(root)], root))
            version.append(timed([DERIVE, "--version"], root))
        # the no-op really was one
        subprocess.run([DERIVE, "build", "--check", "--root", str(root)], cwd=root, check=False)

    n = len(notebooks)
    print(f"\n1. cold build vs nbclient ({n} notebooks)")
    print(f"   derive build --force (examples only)         {t_examples:7.2f} s")
    print(f"   derive build --force (with page providers)   {t_full:7.2f} s")
    print(f"   nbclient, one kernel per notebook            {t_nbclient:7.2f} s")
    print(f"   ratio, examples only:   {t_nbclient / t_examples:5.2f}x faster (target >= 3x)")
    print(f"   ratio, with providers:  {t_nbclient / t_full:5.2f}x faster (target >= 3x)")
    m_noop, m_version = statistics.median(noop), statistics.median(version)
    print(f"\n2. no-op build vs --version (median of {runs})")
    print(f"   derive build (nothing to do)   {m_noop * 1000:7.0f} ms")
    print(f"   derive --version               {m_version * 1000:7.0f} ms")
    print(f"   ratio: {m_noop / m_version:5.2f}x (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
