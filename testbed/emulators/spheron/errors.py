"""The error the emulator's API code raises."""

from __future__ import annotations


class ApiError(Exception):
    """Turned into an HTTP error answer `{"message": ..., "error": true}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
