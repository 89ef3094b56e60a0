"""The signing account of a script: chosen, and unlocked without a prompt when its passphrase is in
the environment."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from services.cli.errors import CliError, ConfigError

if TYPE_CHECKING:
    from ape.api import AccountAPI


def passphrase_variable(alias: str) -> str:
    """The variable Ape reads a keyfile account's passphrase from."""
    return f"APE_ACCOUNTS_{alias}_PASSPHRASE"


def require_account(account: AccountAPI | None) -> AccountAPI:
    """The signer for a transaction, ready to sign without further questions when possible.

    No ``--account``: prompt in a terminal, else fail with how to give one. A keyfile account
    is unlocked with ``APE_ACCOUNTS_<ALIAS>_PASSPHRASE`` when set; without it, Ape asks for the
    passphrase in a terminal, and outside one this fails with the variable to set.
    """
    if account is None:
        if not sys.stdin.isatty():
            raise CliError(
                "no account: pass --account ALIAS (see `ape accounts list`; import a key with "
                "`ape accounts import ALIAS`; on a local chain TEST::0 .. TEST::9)"
            )
        from ape.cli.choices import AccountAliasPromptChoice

        account = AccountAliasPromptChoice().select_account()
    alias = getattr(account, "alias", None)
    if type(account).__name__ != "KeyfileAccount" or alias is None:
        return account
    variable = passphrase_variable(alias)
    if os.environ.get(variable):
        from ape.logging import LogLevel, logger

        try:
            with logger.at_level(LogLevel.ERROR):  # no "Danger! autosign" warning per run
                account.set_autosign(True)  # type: ignore[attr-defined]
        except Exception as exc:
            if type(exc).__name__ == "InvalidPasswordError":
                raise ConfigError(f"wrong passphrase for account {alias!r} in {variable}") from None
            raise
    elif not sys.stdin.isatty():
        raise ConfigError(
            f"account {alias!r} is locked: set {variable} (environment or .env) or run in a "
            "terminal to type the passphrase"
        )
    return account
