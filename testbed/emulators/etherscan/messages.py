"""What Etherscan answers, word for word (the `result` of its NOTOK errors), and the truncated
body the stand-in sends as a malformed answer."""

from __future__ import annotations

DEPRECATED_V1 = "You are using a deprecated V1 endpoint, switch to Etherscan API V2."
MISSING_CHAINID = (
    "Missing or unsupported chainid parameter (required for v2 api), please see "
    "https://api.etherscan.io/v2/chainlist for the list of supported chainids"
)
INVALID_API_KEY = "Invalid API Key (#err2)|NewSession"
TOO_MANY_INVALID_KEYS = "Too many invalid api key attempts, please try again later"
RATE_LIMIT = "Max calls per sec rate limit reached (3/sec)"
DAILY_LIMIT = "Max daily rate limit reached. 100000 (100%) of 100000 calls used"
QUERY_TIMEOUT = "Query Timeout occured. Please select a smaller result dataset"
RESULT_WINDOW = (
    "Result window is too large, PageNo x Offset size must be less than or equal to 10000"
)
MALFORMED_BODY = b'{"status":"1","message":"OK","result":[{"address":"0x'
