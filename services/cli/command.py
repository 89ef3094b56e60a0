"""The command class every connected script uses: Ape's `ConnectedProviderCommand`, with `.env`
loaded before Ape connects (ape-infura reads ``WEB3_INFURA_PROJECT_ID`` when it connects) and every
failure reported as one line (`services.cli.failures`), connection failures included."""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from services.cli.failures import explained_while_connected, report_failures
from services.common.env import load_env


class DaoCommand(ConnectedProviderCommand):
    """Ape's connected command, plus ``.env`` loading before it connects and one-line errors.

    Connection failures happen in :meth:`invoke` (Ape connects there), so they are reported the
    same way as failures of the script itself.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.callback is not None:
            self.callback = explained_while_connected(self.callback)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        load_env()
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with report_failures():
            return super().invoke(ctx)
