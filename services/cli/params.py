"""The scripts' options and parameter types: contract addresses, durations, ether amounts,
percentages and vote choices."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import click


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
