"""Reading `.env`: the one loader the scripts and the bot use (Ape does not read it itself)."""

from __future__ import annotations


def load_env() -> str | None:
    """Load the nearest ``.env`` (from the current directory upwards) into ``os.environ``
    without overriding variables already set; returns its path, or None if there is none."""
    from dotenv import find_dotenv, load_dotenv

    path = find_dotenv(usecwd=True)
    if not path:
        return None
    load_dotenv(path, override=False)
    return path
