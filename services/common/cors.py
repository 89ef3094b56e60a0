"""Which web pages may read the deploy bot's status server from a browser (CORS).

The members' web app reads ``/deployments`` and ``/policy`` from the bot's status server, which is
on another origin. Browsers let a page read such an answer only if it carries
``Access-Control-Allow-Origin`` for the page's origin. The bot allows only the origins its operator
lists (``--cors-origin`` / ``DEPLOYBOT_CORS_ORIGINS``): none by default, and ``*`` only when
given explicitly. Nothing the status server serves is secret, but an operator decides who builds on
it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

ANY_ORIGIN = "*"


def parse_origins(values: Iterable[str]) -> tuple[str, ...]:
    """Normalise origins (``scheme://host[:port]``, lower case, no path) given one by one or
    comma-separated; ValueError naming a value that is not an origin."""
    origins: list[str] = []
    for value in values:
        for item in value.split(","):
            text = item.strip()
            if not text:
                continue
            origin = text if text == ANY_ORIGIN else _origin(text)
            if origin not in origins:
                origins.append(origin)
    return tuple(origins)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL (ValueError if it is none, or names a user)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ValueError(f"{url!r}: give the URL without user:password")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}"


def _origin(text: str) -> str:
    parts = urlsplit(text)
    try:
        origin = origin_of(text)
    except ValueError:
        origin = None
    if origin is None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            f"{text!r} is not an origin: give scheme://host[:port], e.g. http://127.0.0.1:8000 "
            "(no path), or * for any page"
        )
    return origin


def cors_headers(request_origin: str | None, allowed: Sequence[str]) -> Mapping[str, str]:
    """The headers answering a request from ``request_origin``: the grant when it is allowed,
    and always ``Vary: Origin`` when origins are configured (caches must not mix answers)."""
    if not allowed:
        return {}
    headers = {"Vary": "Origin"}
    if ANY_ORIGIN in allowed:
        headers["Access-Control-Allow-Origin"] = ANY_ORIGIN
    elif request_origin is not None and request_origin.lower() in allowed:
        headers["Access-Control-Allow-Origin"] = request_origin
    return headers
