"""Off-chain services of spheron-dao-deploy: the instance spec, the log sources, the Spheron client,
the deploy bot's ledger and loop, and local stand-ins for the outside APIs."""
