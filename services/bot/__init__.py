"""The deploy bot (`ape run watcher`): the ledger that makes "exactly once" durable (`ledger`), the
steps of a deployment (`deployer`), the polling loop (`watcher`), its settings, metrics, logs and
status server, the assembly of all of it (`assembly`) and the Ape side of the command (`command`).

May import `services.chain`, `services.targets`, `services.spec` and `services.common`."""
