"""A headless Chromium for the web app's browser tests and benchmark, driven by Playwright.

Playwright never downloads a browser here: it drives the system's Chromium (Debian's ``chromium``
package, which ``make`` installs when none is found) through its executable path. The flags keep
a headless Chromium quiet on a machine without a display or internet: no sandbox (tests may run
as root), no GPU, no QUIC, no first-run or background traffic, a fresh profile per launch.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class ChromiumNotFoundError(RuntimeError):
    """No Chromium executable was found."""


def find_chromium() -> str:
    """``$CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise ChromiumNotFoundError(
        "no Chromium found: run `make` (it installs Debian's chromium) or set CHROMIUM to its path"
    )


def launch_chromium(playwright: Playwright) -> Browser:
    """A headless Chromium browser from a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=find_chromium(), args=list(CHROMIUM_FLAGS))
