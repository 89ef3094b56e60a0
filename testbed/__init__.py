"""Development tooling, kept out of the product: local stand-ins of Etherscan and the Spheron API
(`emulators`), anvil as a child process (`anvil`), the bot as a child process (`bot_process`),
contract deployment over web3 for tests and benchmarks (`contracts`), waiting for a condition
(`waiting`) and `make demo` (`demo`).

Used by `tests/`, `bench/` and `make demo`; may import anything in `services`. Nothing in
`services` or `scripts` imports it, and the Docker image does not carry it."""
