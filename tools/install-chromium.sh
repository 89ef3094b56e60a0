#!/bin/sh
# Makes sure a Chromium is installed for the web app's browser tests and `make bench`: Playwright
# drives it through its executable path and never downloads a browser. If none is found (on PATH
# or in $CHROMIUM), installs Debian's package. Idempotent, and quick when Chromium is installed.
set -eu
for candidate in "${CHROMIUM:-}" chromium chromium-browser; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then
        exit 0
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get here: install Chromium and set CHROMIUM=/path/to/chromium" >&2
    exit 1
fi
exec "$(dirname "$0")/apt-install.sh" chromium "chromium not found for the browser tests"
