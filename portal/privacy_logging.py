"""Keep client addresses out of logs.

Werkzeug's development server starts every access-log line with the client address; we
replace it, and any IPv4/IPv6 address elsewhere in a message, before a handler sees it.
"""

import ipaddress
import logging
import re

# Candidates: runs of hex digits, dots and colons; the ipaddress module decides what is an
# address, so timestamps such as 10:00:00 stay readable.
_CANDIDATE_RE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*(?:%\w+)?")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    return True


def _redact(match: re.Match) -> str:
    token = match.group(0)
    stripped = token.strip(".:") if not token.startswith("::") else token.rstrip(".")
    if _is_address(stripped):
        return token.replace(stripped, "[redacted]")
    # "203.0.113.7:51234": an IPv4 address with a port (servers log peers this way).
    host, sep, port = stripped.rpartition(":")
    if sep and port.isdigit() and "." in host and _is_address(host):
        return token.replace(host, "[redacted]")
    return token


class RedactClientAddress(logging.Filter):
    """Replace IP addresses in a log record's message with ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _CANDIDATE_RE.sub(_redact, message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(app) -> None:
    """Attach the filter to the loggers that see requests."""
    redact = RedactClientAddress()
    for logger in (logging.getLogger("werkzeug"), app.logger, logging.getLogger("gunicorn.access"),
                   logging.getLogger("gunicorn.error")):
        if not any(isinstance(f, RedactClientAddress) for f in logger.filters):
            logger.addFilter(redact)
