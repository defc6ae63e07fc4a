"""Shared test set-up: the hypothesis profiles; the built site, its server and the browser.

``ci`` (the default) is reproducible: every run draws the same examples (``derandomize``),
keeps no example database, never times out a slow SymPy example (``deadline=None``) and
prints a reproduction blob on failure. Each property sets its own ``max_examples``.

``explore`` draws fresh random examples on every run, for hunting new counterexamples:
``HYPOTHESIS_PROFILE=explore pytest tests/test_shapes_torch.py``.

The site is built once per session (``site_dir``) and served once (``base_url``), for every
module that opens it in a browser; each such module gets its own browser (``browser``,
``context``), closed when the module ends.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# -------------------------------------------------------------------------------------------
# the built site, its server and a browser (tests/test_site.py, tests/test_explorer.py)

ROOT = Path(__file__).resolve().parents[1]
# DERIVE_SITE_CONFIG: another mkdocs.yml (with its docs/ beside it) to build and test
CONFIG = Path(os.environ.get("DERIVE_SITE_CONFIG", ROOT / "mkdocs.yml")).resolve()
DOCS = CONFIG.parent / "docs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    # belt and braces: no name but 127.0.0.1 resolves, so nothing can leave the machine
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
LOCAL_HOST = "127.0.0.1"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site, once per session: DERIVE_SITE_DIR if set, else a strict build."""
    given = os.environ.get("DERIVE_SITE_DIR")
    if given:
        path = Path(given).resolve()
        if not (path / "index.html").is_file():
            pytest.fail(f"DERIVE_SITE_DIR={given} holds no built site (no index.html)")
        return path
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    # no -q: mkdocs 1.6 counts warnings for --strict only when they are logged
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict",
           "-f", str(CONFIG), "-d", str(out)]  # fmt: skip
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        cmd, cwd=CONFIG.parent, env=env, capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a page closed while it was still fetching: not an error of the site
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def base_url(site_dir: Path) -> Iterator[str]:
    """The built site served on 127.0.0.1 (one server for the session)."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = _Server((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright, one per test module.

    Module scope on purpose: Playwright's sync API runs an event loop for as long as it is
    open, and a loop left running across modules breaks ``asyncio.run`` in later ones
    (tests/test_notebooks.py).
    """
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's chromium is not at {CHROMIUM} (apt-get install chromium; .ci/run does)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def new_context(browser: Any) -> Iterator[Any]:
    """Make browser contexts (Playwright's options: viewport, is_mobile, ...) that let
    requests reach 127.0.0.1 only; the others are refused and listed in ``ctx.offsite``."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        ctx = browser.new_context(service_workers="block", **options)
        offsite: list[str] = []

        def route(route: Any) -> None:
            if urlsplit(route.request.url).hostname == LOCAL_HOST:
                route.continue_()
            else:
                offsite.append(route.request.url)
                route.abort("blockedbyclient")

        ctx.route("**/*", route)
        ctx.offsite = offsite  # type: ignore[attr-defined]
        ctx.set_default_timeout(TIMEOUT_MS)
        made.append(ctx)
        return ctx

    try:
        yield make
    finally:
        for ctx in made:
            ctx.close()


@pytest.fixture(scope="module")
def context(new_context: Any, base_url: str) -> Any:
    """The module's browser context (desktop size), served pages only."""
    return new_context()
