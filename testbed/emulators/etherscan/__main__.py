"""`python -m testbed.emulators.etherscan --port N --api-key K --chain-id C --rpc-url URL`."""

from testbed.emulators.etherscan.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
