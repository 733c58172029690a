"""Keep client addresses out of logs.

Werkzeug's development server starts every access-log line with the client address; we
replace it, and any IPv4/IPv6 address elsewhere in a message, before a handler sees it.
"""

import logging
import re

_IPV4 = r"\b(?:\d{1,3}\.){3}\d{1,3}\b"
_IPV6 = r"\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{0,4}\b|::1\b"
ADDRESS_RE = re.compile(f"{_IPV4}|{_IPV6}")


class RedactClientAddress(logging.Filter):
    """Replace IP addresses in a log record's message with ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = ADDRESS_RE.sub("[redacted]", message)
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
