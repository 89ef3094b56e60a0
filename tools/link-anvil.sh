#!/bin/sh
# Puts the anvil binary shipped by the npm package @foundry-rs/anvil-<os>-<arch> on the virtualenv's
# PATH (ape-foundry finds anvil only through PATH). Idempotent.
set -eu
project_dir="$(cd "$(dirname "$0")/.." && pwd)"
case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "no anvil package for $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) echo "no anvil package for $(uname -m)" >&2; exit 1 ;;
esac
binary="$project_dir/node_modules/@foundry-rs/anvil-$os-$arch/bin/anvil"
if [ ! -x "$binary" ]; then
    echo "anvil binary missing at $binary: run npm ci" >&2
    exit 1
fi
ln -sf "$binary" "$project_dir/.venv/bin/anvil"
