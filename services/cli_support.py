"""What the ``ape run`` scripts share: the command class, options, parameter types, the account
and contract set-up, and turning every expected failure into one line.

Every script is a ``cli`` click command built with ``cls=DaoCommand``:

- ``.env`` is loaded into the environment (never overriding variables already set) before Ape
  connects, because Ape does not read it and ape-infura reads ``WEB3_INFURA_PROJECT_ID`` when it
  connects;
- a failure ends as ``error: <one line>`` on stderr (no traceback unless Ape's ``-v DEBUG``)
  with the exit code of ``services.exit_codes``: 78 when the configuration is at fault (no
  contract address, a locked account, a wrong passphrase), 1 for any other failure, 130 on
  Ctrl-C; secret values from the environment are masked in that line.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import click
from ape.cli import ConnectedProviderCommand

from services import exit_codes
from services.dao_contracts import (
    AddressError,
    ProposalNotFoundError,
    ProposalSpecError,
    ResolvedAddress,
    dao_at,
    locate_address,
    nft_at,
)
from services.redaction import redact
from services.revert_messages import RevertContext, decode_revert_data, explain
from services.spec import SpecError

if TYPE_CHECKING:
    from ape.api import AccountAPI, ProviderAPI, ReceiptAPI
    from ape.contracts import ContractInstance

_DAO_META_KEY = "spheron_dao.dao"


class CliError(Exception):
    """An expected failure whose message is ready for the user."""


class ConfigError(CliError):
    """The configuration is at fault (a setting, an account); exits with `exit_codes.CONFIG`."""


class _ExplainedFailure(Exception):
    """A failure already turned into its message (while the provider was still connected, so the
    message could use the chain's time); the original exception is its ``__cause__``."""


def _explained_while_connected(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command callback so failures are explained before Ape disconnects."""

    @functools.wraps(callback)  # keeps the signature Ape inspects for network/provider arguments
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except (click.exceptions.Exit, click.Abort, click.ClickException):
            raise
        except Exception as exc:
            raise _ExplainedFailure(failure_message(exc)) from exc

    return run


# ---------------------------------------------------------------------------------------------
# Environment and the command class
# ---------------------------------------------------------------------------------------------


def load_env() -> str | None:
    """Load the nearest ``.env`` (from the current directory upwards) into ``os.environ``
    without overriding variables already set; returns its path, or None if there is none."""
    from dotenv import find_dotenv, load_dotenv

    path = find_dotenv(usecwd=True)
    if not path:
        return None
    load_dotenv(path, override=False)
    return path


class DaoCommand(ConnectedProviderCommand):
    """Ape's connected command, plus ``.env`` loading before it connects and one-line errors.

    Connection failures happen in :meth:`invoke` (Ape connects there), so they are reported the
    same way as failures of the script itself.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.callback is not None:
            self.callback = _explained_while_connected(self.callback)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        load_env()
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with report_failures():
            return super().invoke(ctx)


# ---------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------


def _debugging() -> bool:
    from ape.logging import LogLevel, logger

    return logger.level <= LogLevel.DEBUG


def _revert_context() -> RevertContext:
    """Chain time and the DAO's proposal count, when they can be read (best effort)."""
    now = proposals = None
    try:
        from ape import chain

        if chain.provider.is_connected:
            now = chain_now()
            ctx = click.get_current_context(silent=True)
            dao = None if ctx is None else ctx.find_root().meta.get(_DAO_META_KEY)
            if dao is not None:
                proposals = int(dao.numProposals())
    except Exception:  # the context only enriches a message that is printed anyway
        pass
    return RevertContext(now=now, num_proposals=proposals)


def failure_message(exc: BaseException) -> str:
    """The one line printed for ``exc``."""
    if isinstance(
        exc, _ExplainedFailure | CliError | AddressError | ProposalNotFoundError | ProposalSpecError
    ):
        return str(exc)
    if isinstance(exc, SpecError):
        problems = "problem" if len(exc.errors) == 1 else "problems"
        return f"invalid spec ({len(exc.errors)} {problems}): " + "; ".join(exc.errors)
    if (message := explain(exc, _revert_context())) is not None:
        return message
    detail = " ".join(str(exc).split()) or "(no message)"
    return f"unexpected {type(exc).__name__}: {detail[:500]} (run with -v DEBUG for details)"


@contextmanager
def report_failures() -> Iterator[None]:
    """Turn any failure into ``error: <message>`` on stderr and exit code 1.

    Click's own exits and usage errors pass through unchanged.
    """
    from ape.exceptions import Abort as ApeAbort

    try:
        yield
    except (click.exceptions.Exit, click.Abort):
        raise
    except click.ClickException as exc:
        if not isinstance(exc, ApeAbort):
            raise
        _fail(exc)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        raise click.exceptions.Exit(exit_codes.INTERRUPTED) from None
    except Exception as exc:  # the point: one line for every failure
        _fail(exc)


def exit_code_of(exc: BaseException) -> int:
    """The exit code a failure ends the script with."""
    cause = exc.__cause__ if isinstance(exc, _ExplainedFailure) else exc
    if isinstance(cause, ConfigError | AddressError):
        return exit_codes.CONFIG
    return exit_codes.FAILED


def _fail(exc: BaseException) -> None:
    if _debugging():
        traceback.print_exception(exc)
    message = " ".join(failure_message(exc).split())
    click.echo(f"error: {redact(message, os.environ)}", err=True)
    raise click.exceptions.Exit(exit_code_of(exc)) from None


# ---------------------------------------------------------------------------------------------
# Options and parameter types
# ---------------------------------------------------------------------------------------------


def dao_option() -> Any:
    return click.option(
        "--dao",
        "dao_address",
        metavar="ADDRESS",
        help="SpheronDevsDAO address (default: $DAO_CONTRACT_ADDRESS, then deployments: in "
        "ape-config.yaml for the network, then Ape's deployment cache).",
    )


def nft_option() -> Any:
    return click.option(
        "--nft",
        "nft_address",
        metavar="ADDRESS",
        help="SpheronDevsNFT address (default: $NFT_CONTRACT_ADDRESS, then deployments: in "
        "ape-config.yaml, then Ape's deployment cache, then the DAO's token()).",
    )


_DURATION_RE = re.compile(r"(\d+)\s*(s|sec|m|min|h|d)?")
_DURATION_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400}


class Duration(click.ParamType):
    """Seconds, or a number with a unit: ``300``, ``90s``, ``5m``, ``2h``, ``3d``."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _DURATION_RE.fullmatch(str(value).strip().lower())
        if match is None:
            self.fail(f"{value!r} is not a duration (e.g. 300, 90s, 5m, 2h, 3d)", param, ctx)
        return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


_ETHER_UNITS = {"ether": 10**18, "eth": 10**18, "gwei": 10**9, "wei": 1}


class EtherAmount(click.ParamType):
    """An amount of ether, e.g. ``0.01`` (ether), or with a unit: ``10 gwei``, ``5 wei``.
    Converted to wei; fractions of a wei are refused."""

    name = "ether"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        unit = "ether"
        for name in _ETHER_UNITS:
            if text.endswith(name):
                text, unit = text[: -len(name)].strip(), name
                break
        try:
            amount = Decimal(text) * _ETHER_UNITS[unit]
        except InvalidOperation:
            self.fail(f"{value!r} is not an amount (e.g. 0.01, 10 gwei)", param, ctx)
        if amount < 0 or amount != amount.to_integral_value():
            self.fail(f"{value!r} is negative or not a whole number of wei", param, ctx)
        return int(amount)


class Percent(click.ParamType):
    """A percentage converted to basis points: ``20`` or ``20%`` → 2000, ``12.5`` → 1250."""

    name = "percent"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().removesuffix("%").strip()
        try:
            bps = Decimal(text) * 100
        except InvalidOperation:
            self.fail(f"{value!r} is not a percentage (e.g. 20 or 12.5)", param, ctx)
        if bps != bps.to_integral_value() or not 1 <= bps <= 10_000:
            self.fail(
                f"{value!r} must be between 0.01 and 100, in steps of 0.01 (1 basis point)",
                param,
                ctx,
            )
        return int(bps)


VOTE_CHOICES = {
    "yay": 1,
    "yes": 1,
    "for": 1,
    "nay": 0,
    "no": 0,
    "against": 0,
    "abstain": 2,
}
"""Vote words and the DAO's ``VoteType`` (0 Against, 1 For, 2 Abstain)."""

VOTE_NAMES = {0: "Against", 1: "For", 2: "Abstain"}


class VoteChoice(click.ParamType):
    """``yay``/``yes``/``for``, ``nay``/``no``/``against`` or ``abstain`` → VoteType."""

    name = "yay|nay|abstain"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        choice = VOTE_CHOICES.get(str(value).strip().lower())
        if choice is None:
            self.fail(f"{value!r}: use yay (for), nay (against) or abstain", param, ctx)
        return choice


# ---------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Contracts
# ---------------------------------------------------------------------------------------------


def _locate(name: Any, provider: ProviderAPI, override: str | None) -> ResolvedAddress:
    return locate_address(
        name,
        ecosystem=provider.network.ecosystem.name,
        network=provider.network.name,
        override=override,
    )


def open_dao(provider: ProviderAPI, override: str | None) -> tuple[ContractInstance, str]:
    """The DAO instance and where its address came from; remembered for error messages."""
    located = _locate("SpheronDevsDAO", provider, override)
    dao = dao_at(located.address)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().meta[_DAO_META_KEY] = dao
    return dao, located.source


def open_nft(
    provider: ProviderAPI, nft_override: str | None, dao_override: str | None
) -> tuple[ContractInstance, str]:
    """The NFT instance and its source: its own address if configured, else the DAO's token."""
    try:
        located = _locate("SpheronDevsNFT", provider, nft_override)
    except AddressError as nft_error:
        try:
            dao, source = open_dao(provider, dao_override)
        except AddressError:
            raise nft_error from None
        return nft_at(dao.token()), f"token() of the DAO from {source}"
    return nft_at(located.address), located.source


def latest_block_time() -> int:
    """Timestamp of the latest block: a time the chain has certainly reached."""
    from ape import chain

    return int(chain.blocks.head.timestamp)


def simulate(
    contract: ContractInstance, method: str, *args: Any, sender: str, value: int = 0
) -> None:
    """Run the transaction as an ``eth_call`` against the pending block and raise
    :class:`DecodedRevert` (or :class:`CliError`) if it would revert, so nothing is sent.

    Ape itself sends a failing transaction on local networks (their gas limit is "max", so it
    does not estimate), and does not decode custom errors from calls on every node; the pending
    block also carries the time the next block will have, even on an idle local chain.
    """
    from ape import chain
    from web3.exceptions import ContractLogicError as Web3ContractLogicError
    from web3.exceptions import Web3RPCError

    call = {
        "from": sender,
        "to": contract.address,
        "data": "0x" + bytes(getattr(contract, method).encode_input(*args)).hex(),
        "value": value,
    }
    web3 = chain.provider.web3
    for block in ("pending", "latest"):
        try:
            web3.eth.call(call, block)  # type: ignore[arg-type]
            return
        except Web3ContractLogicError as exc:
            data = exc.data if isinstance(exc.data, str) else None
            abis = [abi.model_dump(mode="json") for abi in contract.contract_type.errors]
            if data and (decoded := decode_revert_data(data, abis)) is not None:
                raise decoded from None
            reason = exc.message or "no reason given"
            raise CliError(f"the transaction would revert: {reason}") from None
        except Web3RPCError:
            if block == "latest":
                raise  # not a revert: the node refused the call itself


def transact(
    contract: ContractInstance, method: str, *args: Any, sender: AccountAPI, value: int = 0
) -> ReceiptAPI:
    """Simulate (see :func:`simulate`), then send ``contract.method(*args)`` from ``sender``."""
    simulate(contract, method, *args, sender=sender.address, value=value)
    kwargs: dict[str, Any] = {"sender": sender}
    if value:
        kwargs["value"] = value
    return getattr(contract, method)(*args, **kwargs)


def chain_now() -> int:
    """Best estimate of the time the next block will have: the later of the latest block's
    timestamp and the wall clock (a local chain may have moved ahead in time; on a public chain
    the latest block is a few seconds old, and an idle local chain may be minutes old)."""
    return max(latest_block_time(), int(time.time()))


def fact(label: str, value: object) -> None:
    """Print one fact as ``label: value``."""
    click.echo(f"{label}: {value}")


def hex_hash(value: Any) -> str:
    """A transaction hash or bytes32 as ``0x``-prefixed lower-case hex."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text
