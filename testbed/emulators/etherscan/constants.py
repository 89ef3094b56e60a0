"""The V2 path and Etherscan's paging limits."""

from __future__ import annotations

API_PATH = "/v2/api"
MAX_OFFSET = 1000
MAX_RESULT_WINDOW = 10_000
