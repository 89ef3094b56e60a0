#!/bin/sh
# Registers the npm `solc` compiler (WebAssembly) with py-solc-x as `solc-v<VERSION>`, so that
# ape-solidity compiles offline. py-solc-x looks in $SOLCX_BINARY_PATH, else ~/.solcx.
# Idempotent; never replaces a compiler that this project did not install.
set -eu
version="$1"
project_dir="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${SOLCX_BINARY_PATH:-$HOME/.solcx}"
target="$target_dir/solc-v$version"
marker="# spheron-dao-deploy solc wrapper"
content="#!/bin/sh
$marker
exec node \"$project_dir/tools/solc-cli.js\" \"\$@\""

if [ -e "$target" ] && ! grep -q "$marker" "$target" 2>/dev/null; then
    echo "keeping the existing compiler $target"
    exit 0
fi
if [ -e "$target" ] && [ "$(cat "$target")" = "$content" ]; then
    exit 0
fi
mkdir -p "$target_dir"
printf '%s\n' "$content" > "$target"
chmod +x "$target"
installed="$("$target" --version | sed -n 's/^Version: \([0-9.]*\).*/\1/p')"
if [ "$installed" != "$version" ]; then
    echo "the npm solc package is $installed but $version is pinned: run npm ci" >&2
    rm -f "$target"
    exit 1
fi
echo "registered solc $version (npm, WebAssembly) as $target"
