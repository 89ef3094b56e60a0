"""Statement deletion for mutmut.

mutmut 3 changes operators, literals, names and call arguments, but never deletes a statement, and
the defects the bot's tests once missed were exactly that: the `raise` that stops the bot on a
revoked token, the re-raise that makes a failed `--once` exit 1, the `continue` after an
undecodable log, the wait between polls. This operator adds one mutant per such statement, the
statement replaced by `pass`: every `raise`, `return`, `continue` and `break`, and every call made
for its effect (`self._stop.wait(...)`, `self._ledger.note(...)`, `logger.info(...)`).
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst
from mutmut.mutation import mutators

_CONTROL_FLOW = (cst.Raise, cst.Return, cst.Continue, cst.Break)


def delete_statement(node: cst.BaseSmallStatement) -> Iterator[cst.BaseSmallStatement]:
    """`pass` in place of a control-flow statement or of a call whose result is not used."""
    if isinstance(node, _CONTROL_FLOW) or (
        isinstance(node, cst.Expr) and isinstance(node.value, cst.Call)
    ):
        yield cst.Pass()


def add_statement_deletion() -> None:
    """Register the operator with mutmut (before it generates the mutants; idempotent)."""
    operator = (cst.BaseSmallStatement, delete_statement)
    operators = mutators.mutation_operators
    assert isinstance(operators, list), "mutmut's operator table is no longer a list"
    if operator not in operators:
        operators.append(operator)
