#!/bin/sh
# tools/apt-install.sh PACKAGE WHY: installs one Debian package (no recommends) for `make`,
# saying why; with sudo when not root. Used by the install helpers when a tool is missing.
set -eu
package="$1"
why="$2"
echo "$why: installing Debian's $package (apt-get install -y --no-install-recommends $package)"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get here: install $package yourself ($why)" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
$sudo apt-get update -q
$sudo apt-get install -y --no-install-recommends "$package"
