"""The exit codes of every script and of the deploy bot, one meaning each (see the README).

`CONFIG` is sysexits' EX_CONFIG: the systemd unit lists it in `RestartPreventExitStatus=`, so a
wrong setting or a refused credential stops the service instead of restarting it every few seconds.
"""

OK = 0
#: The operation failed: a revert, a refused input, an outside service that failed, a bug.
FAILED = 1
#: The command line was wrong (click's usage errors).
USAGE = 2
#: A setting is missing or wrong, or a credential was refused: fix the configuration first.
CONFIG = 78
#: Interrupted by Ctrl-C (128 + SIGINT), or a second stop signal.
INTERRUPTED = 130
