"""Runs the web app's TypeScript in node: bundled with the project's esbuild, fed JSON on stdin."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"


class NodeScript:
    """``entry`` (a .ts file) bundled once into ``out_dir``; :meth:`run` sends one JSON request."""

    def __init__(self, entry: Path, out_dir: Path) -> None:
        self.bundle = out_dir / (entry.stem + ".mjs")
        subprocess.run(
            [
                str(ESBUILD),
                str(entry),
                "--bundle",
                "--platform=node",
                "--format=esm",
                f"--outfile={self.bundle}",
                "--log-level=warning",
            ],
            cwd=ROOT,
            check=True,
            timeout=120,
        )

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        result = subprocess.run(
            ["node", str(self.bundle)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
