"""Time the back office on a large history (bench/history_generator.py) in PostgreSQL.

    .venv/bin/python bench/backoffice_bench.py [--year 2025] [--runs 5]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/tinbao_bench]

In process, with the app factory against that database (the URL also comes from
``TINBAO_BENCH_DATABASE_URL``), after ``ANALYZE``: one warm-up, then the median (and the
slowest) of ``--runs`` runs of

- a year's dashboard with every breakdown: ``stats.compute`` (what /staff/supervision/ calls:
  the stored counts and the facts, portal/supervision/facts.py), the same from the facts
  alone (``stored=False``, what a filtered dashboard reads) and straight from the history
  (``from_history=True``, the computation before the facts), its parts, and
  ``GET /staff/supervision/`` through the test client logged in as the seeded supervisor;
- what the periodic ``flask supervision refresh`` does: the hot-spot alerts, and the stored
  counts of a day after some changes;
- the first triage queue page: ``GET /staff/triage/`` with the default filters and with a
  sector filter (logged in as the seeded triage user);
- the year's periodic report: ``GET /staff/supervision/report?period=year…`` as DOCX and XLSX.

The supervisor gets a two-factor enrolment date in this database (the role requires one; the
session is set directly, not through the login form). Each page view is audited, as in
production. Prints a table with the target beside each figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tinbao_bench"
PROTECTED = {"test", "tinbao_h1", "tinbao_h2", "tinbao_lead"}


def timed(fn, runs: int) -> tuple[float, float]:
    """(median, max) seconds of ``runs`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("TINBAO_BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    args = parser.parse_args()

    from sqlalchemy import func, select, text
    from sqlalchemy.engine import make_url

    from portal import create_app
    from portal.accounts.models import User
    from portal.deadlines.calendar import local_date
    from portal.extensions import db
    from portal.reports.models import Report, ReportEvent
    from portal.supervision import clusters, facts, hotspots, stats
    from portal.timeutil import utcnow

    if make_url(args.database_url).database in PROTECTED:
        sys.exit("refusing to use a shared database")
    workdir = Path(tempfile.mkdtemp(prefix="tinbao-bench-"))
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": args.database_url,
                      "KEYS_FOLDER": str(ROOT / "instance" / "bench-keys"),
                      "INSTANCE_PATH": str(workdir), "UPLOAD_FOLDER": str(workdir / "uploads"),
                      "CLASSIFIER_ENABLED": False, "JOBS_MODE": "inline",
                      "RATELIMIT_ENABLED": False})
    year = stats.StatsFilter(date(args.year, 1, 1), date(args.year, 12, 31))
    rows = []

    def record(name, target, median_max, note=""):
        median, slowest = median_max
        rows.append((name, f"{median * 1000:,.0f} ms", f"{slowest * 1000:,.0f} ms",
                     "" if target is None else f"≤ {target * 1000:,.0f} ms",
                     "" if target is None else ("met" if median <= target else "MISSED"), note))

    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with app.app_context():
        conn = db.session.connection()
        conn.execute(text("ANALYZE"))
        db.session.commit()
        n_reports = db.session.scalar(select(func.count()).select_from(Report))
        n_events = db.session.scalar(select(func.count()).select_from(ReportEvent))
        for username in ("supervisor", "triage"):
            user = db.session.scalar(select(User).where(User.username == username))
            if user.two_factor_required and user.totp_enabled_at is None:
                user.totp_enabled_at = utcnow()
        db.session.commit()
        users = {u.username: u.id for u in db.session.scalars(select(User))}

        def compute(**options):
            def run():
                stats.compute(year, **options)
                db.session.rollback()
            return run

        record(f"dashboard: stats.compute, year {args.year}, all breakdowns", 2.0,
               timed(compute(), args.runs))
        dialect = "postgresql"
        now = utcnow()

        def part(fn):
            def run():
                stats._dialect()
                fn()
                db.session.rollback()
            return run

        record("  of which the counts (stored, and open cases live)", None, timed(part(
            lambda: stats._counts(year, stats.DIMENSIONS, dialect, now)), args.runs))
        record("  of which open cases (live)", None, timed(part(lambda: stats._add_grouped(
            {}, stats._open_cases(year, dialect, now), stats.DIMENSIONS, dialect)), args.runs))
        record("  of which stage times (exact percentiles, two steps)", None, timed(part(
            lambda: stats._stage_times(year, stats.STAGE_DIMENSIONS, dialect)), args.runs))
        record(f"dashboard: stats.compute from the facts only, year {args.year}", None,
               timed(compute(stored=False), args.runs))
        record(f"dashboard: stats.compute from the history (before), year {args.year}", None,
               timed(compute(from_history=True), min(args.runs, 2)))
        fast = stats.compute(year, now=now)
        slow = stats.compute(year, now=now, from_history=True)
        db.session.rollback()
        same = "identical" if fast == slow else "DIFFERENT"

        def alerts():
            hotspots.current_alerts(hotspots.current_time(), hotspots.Settings(),
                                    clusters.Settings())
            db.session.rollback()
        record("refresh job: hot-spot alerts (stored for the dashboard)", None,
               timed(alerts, min(args.runs, 3)))

        def refresh():
            # The stored counts of today and of this month (nothing else marked): what each
            # periodic run does at least. Rolled back, so every run does the same work.
            facts.refresh(db.session.connection(), local_date(utcnow()))
            db.session.rollback()
        record("refresh job: stored counts of today and this month", None,
               timed(refresh, min(args.runs, 3)))
        db.session.remove()

    def client_for(username):
        client = app.test_client()
        with client.session_transaction("/staff/") as session:
            session["_user_id"] = str(users[username])
            session["_fresh"] = True
            session["auth_at"] = session["seen_at"] = time.time()
        return client

    def get(client, url, expect=200):
        def fetch():
            response = client.get(url)
            assert response.status_code == expect, (url, response.status_code)
            with client.session_transaction("/staff/") as session:
                session["seen_at"] = time.time()
        return fetch

    supervisor, triage = client_for("supervisor"), client_for("triage")
    period = f"from=01/01/{args.year}&to=31/12/{args.year}"
    record(f"dashboard: GET /staff/supervision/?{period}", 2.0,
           timed(get(supervisor, f"/staff/supervision/?{period}"), args.runs))
    record("triage queue: GET /staff/triage/ (default filters)", 0.2,
           timed(get(triage, "/staff/triage/"), args.runs))
    record("triage queue: GET /staff/triage/?sector=land", 0.2,
           timed(get(triage, "/staff/triage/?sector=land"), args.runs))
    record("triage queue: GET /staff/triage/?status=all&sector=health", 0.2,
           timed(get(triage, "/staff/triage/?status=all&sector=health"), args.runs))
    for fmt in ("docx", "xlsx"):
        record(f"periodic report: year {args.year}, {fmt.upper()}", 10.0, timed(get(
            supervisor, f"/staff/supervision/report?period=year&year={args.year}&format={fmt}"),
            args.runs))

    print(f"database: {make_url(args.database_url).database}, {n_reports:,} reports, "
          f"{n_events:,} history events; {os.cpu_count()} CPUs; median and slowest of "
          f"{args.runs} runs after one warm-up (history: 2); load average before/after: "
          f"{load_before} / {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"figures of the year from the facts and from the history: {same}")
    widths = [max(len(str(r[i])) for r in rows + [("measure", "median", "slowest", "target",
                                                    "", "")]) for i in range(5)]
    header = ("measure", "median", "slowest", "target", "")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join([r[0].ljust(widths[0])] + [str(v).rjust(w) for v, w in
                                                    zip(r[1:4], widths[1:4], strict=True)]
                        + [r[4]]).rstrip())


if __name__ == "__main__":
    main()
