"""`python -m testbed.emulators.spheron --port 8080 --token T` (see `cli`)."""

from testbed.emulators.spheron.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
