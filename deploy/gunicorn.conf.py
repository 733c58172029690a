"""gunicorn settings for tinbao: ``gunicorn -c deploy/gunicorn.conf.py``.

No client address, user agent, referrer or query string reaches gunicorn's logs: the access
log format below names none of them (no %(h)s, %(a)s, %(f)s, %(r)s, %(q)s, %(u)s or header
atoms), and the logging filter from portal/privacy_logging.py sits on both gunicorn loggers
to catch an address in any other message (e.g. "Invalid request from ip=…").

Settings an operator may change come from the environment (TINBAO_BIND, TINBAO_WORKERS).
"""

import os
import sys
from pathlib import Path

from gunicorn.glogging import Logger

# The project root, so that `portal` imports however gunicorn was started.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from portal.privacy_logging import RedactClientAddress  # noqa: E402

wsgi_app = "portal:create_app()"
chdir = str(ROOT)
bind = os.environ.get("TINBAO_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TINBAO_WORKERS", "3"))
# Attachments up to 25 MB arrive slowly over Tor.
timeout = 120
# No control socket ($HOME/.gunicorn/gunicorn.ctl by default): nothing uses it, the systemd
# units give the service no home, and two instances (web and onion) would share one path.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
# Time, method, path without the query string, protocol, status, bytes, duration. Nothing
# that identifies or describes the client.
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


class PrivateLogger(Logger):
    """gunicorn's logger with the address filter on the error and access loggers."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactClientAddress) for f in log.filters):
                log.addFilter(RedactClientAddress())


logger_class = PrivateLogger
