"""Per-module figures of the last mutmut run, with the judged survivors set aside.

A surviving mutant listed in `equivalents.toml` counts as *equivalent* (no test can tell it from
the original: the program behaves the same) or *unreachable* (the code runs only while the module
is imported, before mutmut selects a mutant, so no test can switch it on). An entry matches by
module, function and the changed lines, not by mutmut's mutant number, which shifts whenever the
function changes. Every other survivor is printed with its change, to be killed by a test or
judged and listed.

The score of a module is killed / (mutants - equivalent - unreachable); mutants the tests ran
into a time limit count as killed (the tests noticed them), mutants no selected test reaches
count as survivors.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mutmut.__main__ import (
    SourceFileMutationData,
    get_diff_for_mutant,
    orig_function_and_class_names_from_key,
    status_by_exit_code,
    walk_mutatable_files,
)
from mutmut.configuration import Config

EQUIVALENTS = Path(__file__).with_name("equivalents.toml")

_DETECTED = frozenset({"killed", "timeout"})
_SET_ASIDE_KINDS = ("equivalent", "unreachable")


@dataclass(frozen=True)
class Change:
    """One mutant, told by where it is and what it changes (whitespace around lines ignored):
    `after` is the line before the change, which tells apart the same change made in two places
    of one function (a `return None` deleted here or there)."""

    module: str
    function: str
    after: str
    removed: str
    added: str


@dataclass
class ModuleFigures:
    module: str
    mutants: int = 0
    killed: int = 0
    #: Not tested by the last run (it was stopped, or run for some mutants only).
    not_run: int = 0
    set_aside: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SET_ASIDE_KINDS, 0))
    survivors: list[tuple[str, Change]] = field(default_factory=list)

    @property
    def survived(self) -> int:
        return len(self.survivors)

    @property
    def score(self) -> float | None:
        judged = self.mutants - self.not_run - sum(self.set_aside.values())
        return self.killed / judged if judged else None


@dataclass(frozen=True)
class Judgement:
    kind: str
    reason: str


@dataclass
class Report:
    modules: list[ModuleFigures]
    #: Entries of equivalents.toml that matched no surviving mutant (stale, or now killed).
    unused: list[Change]


def load_judgements(path: Path = EQUIVALENTS) -> dict[Change, Judgement]:
    """The listed mutants: `[reasons.<key>]` give kind and text, `[[mutant]]` entries use them."""
    data = tomllib.loads(path.read_text())
    reasons = data.get("reasons", {})
    judgements: dict[Change, Judgement] = {}
    for entry in data.get("mutant", []):
        reason = reasons[entry["reason"]]
        if reason["kind"] not in _SET_ASIDE_KINDS:
            raise ValueError(
                f"{path}: reason {entry['reason']!r} has unknown kind {reason['kind']}"
            )
        change = Change(
            entry["module"], entry["function"], entry["after"], entry["removed"], entry["added"]
        )
        judgements[change] = Judgement(reason["kind"], reason["text"])
    return judgements


def change_of(mutant: str, module: Path) -> Change:
    """Where `mutant` is and what it changes, from mutmut's diff of the function."""
    name, class_name = orig_function_and_class_names_from_key(mutant)
    function = f"{class_name}.{name}" if class_name else name
    after = ""
    removed: list[str] = []
    added: list[str] = []
    for line in get_diff_for_mutant(mutant, path=module).splitlines()[2:]:  # after ---/+++
        if line.startswith("-"):
            removed.append(line[1:].strip())
        elif line.startswith("+"):
            added.append(line[1:].strip())
        elif line.startswith(" ") and not removed and not added:
            after = line[1:].strip()
    return Change(str(module), function, after, "\n".join(removed), "\n".join(added))


def build_report(judgements: Mapping[Change, Judgement]) -> Report:
    Config.ensure_loaded()
    used: set[Change] = set()
    modules = []
    for path in sorted(walk_mutatable_files()):
        results = SourceFileMutationData(path=path)
        results.load()
        figures = ModuleFigures(str(path))
        for mutant, exit_code in results.exit_code_by_key.items():
            figures.mutants += 1
            status = status_by_exit_code[exit_code]
            if status in _DETECTED:
                figures.killed += 1
                continue
            if status == "not checked":
                figures.not_run += 1
                continue
            change = change_of(mutant, path)
            judgement = judgements.get(change)
            if judgement is None:
                figures.survivors.append((mutant, change))
            else:
                used.add(change)
                figures.set_aside[judgement.kind] += 1
        modules.append(figures)
    return Report(modules, [change for change in judgements if change not in used])


def render(report: Report) -> str:
    header = f"{'module':<28} {'mutants':>8} {'killed':>7} {'survived':>9}"
    header += "".join(f" {kind:>11}" for kind in _SET_ASIDE_KINDS) + f" {'score':>7}"
    lines = [header]
    for m in report.modules:
        row = f"{m.module:<28} {m.mutants:>8} {m.killed:>7} {m.survived:>9}"
        row += "".join(f" {m.set_aside[kind]:>11}" for kind in _SET_ASIDE_KINDS)
        lines.append(row + (f" {m.score:>7.1%}" if m.score is not None else f" {'-':>7}"))
    lines.append(
        "score = killed / (mutants - equivalent - unreachable); "
        f"judged survivors: {EQUIVALENTS.relative_to(Path.cwd())}"
    )
    not_run = {m.module: m.not_run for m in report.modules if m.not_run}
    if not_run:
        lines.append(f"INCOMPLETE: mutants the last run did not test (not in the score): {not_run}")
    survivors = [item for m in report.modules for item in m.survivors]
    if survivors:
        lines += ["", f"{len(survivors)} survivors to kill with a test or to judge:"]
        lines += [_describe(mutant, change) for mutant, change in survivors]
    if report.unused:
        lines += ["", "listed in equivalents.toml but not a survivor of this run (remove them):"]
        lines += [_describe("", change) for change in report.unused]
    return "\n".join(lines)


def stubs(survivors: Iterable[tuple[str, Change]]) -> str:
    """`[[mutant]]` entries for `equivalents.toml`, to be given a reason, for the survivors."""
    return "\n".join(
        f"[[mutant]]\nmodule = {_toml(c.module)}\nfunction = {_toml(c.function)}\n"
        f"after = {_toml(c.after)}\nremoved = {_toml(c.removed)}\nadded = {_toml(c.added)}\n"
        'reason = ""\n'
        for _, c in survivors
    )


def _describe(mutant: str, change: Change) -> str:
    removed = " | ".join(change.removed.splitlines())
    added = " | ".join(change.added.splitlines())
    title = f"{mutant}  " if mutant else ""
    return (
        f"  {title}{change.module} {change.function}, after: {change.after}\n"
        f"      - {removed}\n      + {added}"
    )


def _toml(text: str) -> str:
    """A TOML string: literal (as written) when it can be, else JSON-escaped (valid TOML too)."""
    return f"'{text}'" if "'" not in text and "\n" not in text else json.dumps(text)
