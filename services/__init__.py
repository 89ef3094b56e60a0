"""spheron-dao-deploy's Python side: what the `ape run` scripts and the deploy bot are made of.

Packages, by role (each package's docstring says what it may import; `tests/test_architecture.py`
enforces it). Imports flow one way, from the top of this list to the bottom:

- `services.bot`     the deploy bot: ledger, deployer, watcher loop, status server, assembly.
- `services.webapp`  the members' web app's Python side: build data, its config, its server.
- `services.cli`     what the `ape run` scripts share: command class, parameters, failures.
- `services.chain`   the chain: the DAO's contracts and events, Etherscan and JSON-RPC log sources.
- `services.targets` where instances run: the `DeployTarget` interface and Spheron's client.
- `services.spec`    the instance spec a proposal carries, and the operator's policy.
- `services.common`  small plain helpers: redaction, exit codes, waits, HTTP server plumbing.

`bot`, `webapp` and `cli` are peers (`webapp` reads `cli`'s revert catalogue; `bot` and `cli`
never import each other); `scripts/` may import all of them. Development
tooling (emulators, the local chain, the demo) lives in the top-level `testbed` package, which
nothing here imports.
"""
