"""``flask --app portal supervision …``: keep the dashboard's stored figures and alerts.

- ``refresh`` (periodic, every 10–15 minutes): rebuild the stored daily and monthly counts of
  the days changed since the last run, and compute the hot-spot and mass-complaint alerts.
- ``rebuild-facts``: compute every fact and stored count again from the history (after the
  history was edited outside the portal, or to repair). Migration ``a6c100000001`` did it once.
- ``check``: compare a period's figures from the facts with those computed straight from the
  history; exit status 1 when they differ.
"""

import sys
import time
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.deadlines import services as deadlines
from portal.deadlines.calendar import local_date
from portal.extensions import db
from portal.supervision import clusters, facts, hotspots, periods, stats


def _today() -> date:
    return local_date(deadlines.now())


@click.command("refresh")
@click.option("--no-alerts", is_flag=True, help="Only the stored counts.")
@with_appcontext
def refresh_command(no_alerts: bool) -> None:
    """Rebuild the stored counts of changed days and compute the alerts (run periodically)."""
    started = time.perf_counter()
    done = facts.refresh(db.session.connection(), _today())
    db.session.commit()
    click.echo(f"stored counts: {done['days']} day(s), {done['months']} month(s) rebuilt "
               f"in {time.perf_counter() - started:.1f} s")
    if not no_alerts:
        started = time.perf_counter()
        alerts = hotspots.store_alerts(hotspots.current_time(),
                                       hotspots.Settings.from_config(current_app.config),
                                       clusters.Settings.from_config(current_app.config))
        db.session.commit()
        click.echo(f"alerts: {len(alerts)} in force, computed in "
                   f"{time.perf_counter() - started:.1f} s")


@click.command("rebuild-facts")
@with_appcontext
def rebuild_facts_command() -> None:
    """Compute every fact and stored count again from the history."""
    started = time.perf_counter()

    def progress(done: int, top: int) -> None:
        click.echo(f"  facts: reports up to #{done:,} of {top:,}  "
                   f"{time.perf_counter() - started:.1f} s")

    connection = db.session.connection()
    facts.rebuild_facts(connection, progress=progress)
    middle = time.perf_counter()
    facts.refresh(connection, _today(), rebuild=True)
    db.session.commit()
    click.echo(f"facts {middle - started:.1f} s, stored counts "
               f"{time.perf_counter() - middle:.1f} s")


@click.command("check")
@click.option("--from", "date_from", required=True, help="dd/mm/yyyy")
@click.option("--to", "date_to", required=True, help="dd/mm/yyyy")
@with_appcontext
def check_command(date_from: str, date_to: str) -> None:
    """Compare a period's figures (no filter) from the facts with the history's."""
    try:
        first, last = periods.parse_date(date_from), periods.parse_date(date_to)
    except periods.PeriodError as exc:
        raise click.BadParameter(exc.message) from exc
    f = stats.StatsFilter(first, last)
    now = deadlines.now()
    timings = {}
    results = {}
    for name, from_history in (("facts", False), ("history", True)):
        started = time.perf_counter()
        results[name] = stats.compute(f, now=now, from_history=from_history)
        timings[name] = time.perf_counter() - started
        db.session.rollback()
    same = results["facts"] == results["history"]
    click.echo(f"{'identical' if same else 'DIFFERENT'} figures for {date_from}–{date_to}: "
               f"facts {timings['facts']:.2f} s, history {timings['history']:.2f} s")
    if not same:
        sys.exit(1)


COMMANDS = (refresh_command, rebuild_facts_command, check_command)
