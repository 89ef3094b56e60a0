"""What the `ape run` scripts share: the command class and failure reporting, parameter types,
accounts, opening the contracts, transaction simulation, the catalogue of revert messages, and
output helpers.

May import `services.chain`, `services.spec` and `services.common`."""
