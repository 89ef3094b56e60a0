"""`python -m services.emulators.etherscan --port N --api-key K --chain-id C --rpc-url URL`."""

from services.emulators.etherscan.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
