"""A diagnostic WSGI app for bench/load_bench.py --without-supervision-facts: the portal with
the supervision facts' after-flush hook (portal/supervision/facts.py) taken off, to measure
what that hook costs each filing. Not a configuration to run: the dashboard's figures would go
stale without it."""

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import create_app

app = create_app()
try:
    from portal.supervision import facts
except ImportError:  # no such hook in this version of the portal
    facts = None
if facts is not None and event.contains(Session, "after_flush", facts._after_flush):
    event.remove(Session, "after_flush", facts._after_flush)
