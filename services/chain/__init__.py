"""The chain: where the DAO's contracts are (`contracts`), its `DeployEvent` log and how to decode
it (`events`), the two ways to read those logs (`log_sources`: Etherscan V2 through `etherscan`, or
a JSON-RPC node), revert data decoding, and `--network` handling (`network`).

May import `services.common` and `services.spec`."""
