"""Every failure of a script ends as one line: ``error: <message>`` on stderr, no traceback (unless
Ape's ``-v DEBUG``), secrets masked, and the exit code of `services.common.exit_codes`: 78 when
the configuration is at fault, 130 on Ctrl-C, 1 for any other failure. The deploy bot's command
reports its failures the same way.
"""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from services.chain.contracts import ProposalNotFoundError, ProposalSpecError
from services.cli.contracts import DAO_META_KEY
from services.cli.error_catalogue import RevertContext
from services.cli.errors import CliError
from services.cli.explain import explain
from services.cli.transactions import chain_now
from services.common import exit_codes
from services.common.errors import ConfigurationError
from services.common.redaction import redact
from services.spec.model import SpecError


class _ExplainedFailure(Exception):
    """A failure already turned into its message (while the provider was still connected, so the
    message could use the chain's time); the original exception is its ``__cause__``."""


def explained_while_connected(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command callback so failures are explained before Ape disconnects (the message
    can then use the chain's time)."""

    @functools.wraps(callback)  # keeps the signature Ape inspects for network/provider arguments
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except (click.exceptions.Exit, click.Abort, click.ClickException):
            raise
        except Exception as exc:
            raise _ExplainedFailure(failure_message(exc)) from exc

    return run


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
            dao = None if ctx is None else ctx.find_root().meta.get(DAO_META_KEY)
            if dao is not None:
                proposals = int(dao.numProposals())
    except Exception:  # the context only enriches a message that is printed anyway
        pass
    return RevertContext(now=now, num_proposals=proposals)


def failure_message(exc: BaseException) -> str:
    """The one line printed for ``exc``."""
    if isinstance(
        exc,
        _ExplainedFailure
        | CliError
        | ConfigurationError
        | ProposalNotFoundError
        | ProposalSpecError,
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
    """Turn any failure into ``error: <message>`` on stderr and its exit code (see the module
    docstring). Click's own exits and usage errors pass through unchanged."""
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
    if isinstance(cause, ConfigurationError):
        return exit_codes.CONFIG
    return exit_codes.FAILED


def _fail(exc: BaseException) -> None:
    if _debugging():
        traceback.print_exception(exc)
    message = " ".join(failure_message(exc).split())
    click.echo(f"error: {redact(message, os.environ)}", err=True)
    raise click.exceptions.Exit(exit_code_of(exc)) from None
