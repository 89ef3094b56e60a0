"""Benchmarks behind `make bench` (`python -m bench.run`): figures, not assertions.

Modules, one job each:
- `specs`: valid instance specs of an exact byte size;
- `contracts`: compiled artifacts, deployment and transactions over web3 on a local node;
- `gas`: gas of create/vote/execute/mint on SpheronDevsDAO and on the tutorial baseline;
- `backfill` / `backfill_worker`: the bot's Etherscan backfill throughput, in its own process;
- `latency`: execute-to-Spheron-create latency of `ape run watcher` on anvil (run through
  `testbed.bot_process`);
- `machine`: what the figures were measured on;
- `report`: targets, the printed table;
- `run`: runs everything and writes `bench/results.json`.
"""
