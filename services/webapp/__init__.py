"""The members' web app, Python side: what the browser build needs from Python, and serving it.

The app itself is TypeScript in ``webapp/`` (bundled into static files by ``make``). This package
exports the data that must be the same in Python and in the browser (the spec's JSON Schema, the
revert messages), writes the app's per-network ``config.json``, and serves the static build with a
strict Content-Security-Policy (``ape run app``).

May import `services.cli` (its revert catalogue), `services.chain`, `services.spec` and
`services.common`.
"""
