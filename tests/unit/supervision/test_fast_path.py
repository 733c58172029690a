"""The fast path gives exactly the figures of the straightforward computation.

A realistic history (bench/history_generator.py: filings over almost five years, transfers,
returns, re-routes, withdrawals, spam, duplicates, deadlines met and missed) is loaded as rows,
its facts built as the migration builds them, and ``stats.compute`` from the facts and the
stored counts is compared — every count, every breakdown, every stage time to the last bit —
with ``stats.compute(…, from_history=True)``, which reads the history events, deadlines and
reports themselves. Then staff act on some of the cases through the portal's own actions (the
facts follow in the same transaction, the stored counts are marked stale) and the two must
still agree, before and after ``flask supervision refresh``. On SQLite and PostgreSQL alike.
"""

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from portal.agencies.models import Agency
from portal.deadlines.calendar import local_date
from portal.extensions import db
from portal.reports import handling, status
from portal.reports.models import Report, ReportEvent
from portal.supervision import facts, stats
from portal.supervision.models import DeadlineFact, DirtyPeriod, EventFact, OpenFact
from tests.helpers import act_as

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import history_generator  # noqa: E402

NOW = datetime(2026, 11, 23, 0, 49, tzinfo=UTC)
REPORTS = 1500


def load_history(app) -> None:
    with app.app_context():
        connection = db.session.connection()
        rows = history_generator.generate_rows(connection, reports=REPORTS, seed=2026,
                                               now=NOW.timestamp())
        for event in rows["report_events"]:
            event["actor_user_id"] = None  # the generator's staff have no accounts here
        for table in ("reports", "classifications", "report_events", "report_deadlines"):
            if rows[table]:
                connection.execute(insert(db.metadata.tables[table]), rows[table])
            if connection.dialect.name == "postgresql":
                # The rows came with their ids; the next ones the portal writes follow them.
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"))
        facts.rebuild_facts(connection)
        db.session.commit()


def filters() -> list[stats.StatsFilter]:
    with_agency = db.session.scalar(select(Agency.id).where(Agency.code == "tn-police"))
    commune = db.session.scalar(select(Report.ward_code).where(Report.ward_code.is_not(None))
                                .order_by(Report.id).limit(1))
    year = (date(2025, 1, 1), date(2025, 12, 31))
    return [
        stats.StatsFilter(*year),
        stats.StatsFilter(date(2026, 1, 1), date(2026, 11, 23)),  # to today, months cut
        stats.StatsFilter(date(2024, 12, 15), date(2025, 3, 14)),  # a custom cut-off
        stats.StatsFilter(date(2022, 1, 1), date(2026, 11, 23)),
        stats.StatsFilter(date(2026, 11, 1), date(2026, 11, 30)),  # days after the refresh
        stats.StatsFilter(*year, agency_id=with_agency),
        stats.StatsFilter(*year, sector="land"),
        stats.StatsFilter(*year, report_type="complaint"),
        stats.StatsFilter(*year, province_code=19),
        stats.StatsFilter(*year, ward_code=commune, province_code=19),
        stats.StatsFilter(date(2026, 7, 1), date(2026, 9, 30), sector="land",
                          report_type="denunciation", province_code=19),
    ]


def assert_same_figures(now: datetime) -> None:
    """Every filter: the fast path equals the history, number for number."""
    for f in filters():
        fast = stats.compute(f, now=now)
        slow = stats.compute(f, now=now, from_history=True)
        assert fast.total == slow.total, f
        for dim in stats.DIMENSIONS:
            assert fast.breakdowns[dim] == slow.breakdowns[dim], (f, dim)
        assert fast == slow
        db.session.rollback()


def test_the_generated_history_is_realistic(app):
    load_history(app)
    with app.app_context():
        kinds = dict(db.session.execute(select(ReportEvent.kind, func.count())
                                        .group_by(ReportEvent.kind)).all())
        assert kinds["filed"] == REPORTS
        assert kinds["return"] > 10 and kinds["withdraw_transfer"] > 0
        assert kinds["mark_spam"] > 10 and kinds["merge_duplicate"] > 10
        assert db.session.scalar(select(func.count()).select_from(EventFact)) == sum(
            kinds.get(k, 0) for k in facts.FLOW_KINDS)
        assert db.session.scalar(select(func.count()).select_from(EventFact)
                                 .where(EventFact.misrouted.is_(True))) > 10


def test_the_facts_give_the_figures_of_the_history(app):
    load_history(app)
    with app.app_context():
        assert facts.coverage(db.session.connection()) is None  # nothing stored yet
        assert_same_figures(NOW)
        # The drill-down lists: the same reports behind each figure.
        f = stats.StatsFilter(date(2025, 1, 1), date(2025, 12, 31))
        for measure in ("transferred", "misrouted", "overdue", "overdue_open", "resolved"):
            fast = set(db.session.scalars(stats.case_ids(f, measure, now=NOW)))
            slow = set(db.session.scalars(stats.case_ids(f, measure, now=NOW,
                                                         from_history=True)))
            assert fast == slow and fast, measure


def test_the_stored_counts_give_the_figures_of_the_history(app):
    load_history(app)
    with app.app_context():
        facts.refresh(db.session.connection(), local_date(NOW))
        db.session.commit()
        assert facts.coverage(db.session.connection()) == local_date(NOW)
        assert_same_figures(NOW)


@pytest.fixture
def acted(app, make_user, clock, monkeypatch):
    """The generated history with its counts stored, then a morning of staff work: cases
    accepted, resolved, returned as not competent (undoing transfers made weeks ago),
    classified and sent on, marked spam."""
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)
    load_history(app)
    with app.app_context():
        facts.refresh(db.session.connection(), local_date(NOW))
        db.session.commit()

        def cases(states, limit):
            return list(db.session.execute(
                select(Report.id, Agency.code).outerjoin(Agency, Agency.id ==
                                                         Report.current_agency_id)
                .where(Report.status.in_(states)).order_by(Report.created_at).limit(limit)))

        plan = {state: cases((state,), 3) for state in (status.TRANSFERRED, status.ACCEPTED)}
        plan["front"] = cases(status.WITH_FRONT, 5)
        assert len(plan["front"]) >= 2
        db.session.remove()
    make_user("front", "triage")
    users = {}
    for rows in plan.values():
        for _rid, code in rows:
            if code and code not in users:
                users[code] = make_user(f"officer-{len(users)}", "agency", code)
    moment = NOW.astimezone(UTC).replace(tzinfo=None)
    step = iter(range(1, 100))

    def at(rid, username, action, *args, **kwargs):
        # Two hours apart: the later actions fall on the next day, after the stored counts.
        clock.set(*(moment + timedelta(hours=2 * next(step))).timetuple()[:5])
        act_as(app, rid, username, action, *args, **kwargs)

    (a, code_a), (b, code_b), (c, code_c) = plan[status.TRANSFERRED]
    at(a, users[code_a], handling.accept)
    at(b, users[code_b], handling.return_not_competent, "Không thuộc thẩm quyền.")
    at(c, users[code_c], handling.return_not_competent, "Không thuộc thẩm quyền.")
    (d, code_d), (e, code_e), _ = plan[status.ACCEPTED]
    at(d, users[code_d], handling.resolve, result_text="Đã giải quyết.",
       outcome_code="withdrawn")
    at(e, users[code_e], handling.return_not_competent, "Không thuộc thẩm quyền.")
    # Two cases with the Front, and two just returned, are classified and sent on.
    for rid in (plan["front"][0][0], b, e):
        at(rid, "front", handling.classify, report_type="denunciation", sector="health",
           subject="official", flags=[], crime=False)

        def send(user, report):
            agency = db.session.scalar(select(Agency).where(Agency.code == "tn-inspectorate"))
            handling.transfer(user, report, agency, "Chuyển theo thẩm quyền.",
                              override_reason="Kiểm thử.")
        at(rid, "front", send)
    spam = plan["front"][-1][0]
    at(spam, "front", handling.mark_spam, "Tin quảng cáo.")
    return moment + timedelta(hours=2 * next(step))


def test_the_figures_follow_new_events_before_and_after_a_refresh(app, acted):
    later = acted.replace(tzinfo=UTC)
    assert local_date(later) > local_date(NOW)  # some events after the last refresh
    with app.app_context():
        marked = db.session.scalar(select(func.count()).select_from(DirtyPeriod))
        assert marked > 0  # old days whose transfers were just undone, today, …
        assert_same_figures(later)
        facts.refresh(db.session.connection(), local_date(later))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(DirtyPeriod)) == 0
        assert_same_figures(later)
        # A full rebuild gives the same facts as those kept up action by action.
        kept = sorted(tuple(r) for r in db.session.execute(select(EventFact.__table__)))
        facts.rebuild_facts(db.session.connection())
        assert sorted(tuple(r) for r in db.session.execute(select(EventFact.__table__))) == kept
        db.session.rollback()


def test_bucket_of_matches_the_sql(app):
    with app.app_context():
        for days in (0.0, 1e-5, 1 / 1440, 0.5, 1.0, 3.3, 47.0, 900.0, 5000.0):
            sql = db.session.scalar(select(facts._bucket(db.literal(days))))
            assert sql == facts.bucket_of(days), days


def test_a_filing_writes_the_facts_a_rebuild_gives(app, monkeypatch):
    """A filing's facts — the open case, and the deadline it starts if it is typed — are
    written from the objects without the SELECTs (facts.follow_new_report). They are those a
    rebuild computes from the history, and the days they count on are marked for the stored
    counts' refresh."""
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)  # the filing's own facts
    client = app.test_client()
    text_ = "Có người buôn bán hàng cấm ở chợ đầu mối mỗi tối thứ bảy, xin kiểm tra giúp."
    for extra in ({}, {"report_type": "crime_report"}, {"report_type": "petition"}):
        response = client.post("/api/v1/reports",
                               json={"text": text_, "province_code": 19, **extra})
        assert response.status_code == 201, response.get_json()
    with app.app_context():
        connection = db.session.connection()
        tables = [OpenFact.__table__, EventFact.__table__, DeadlineFact.__table__]
        kept = [sorted(tuple(r) for r in connection.execute(select(t))) for t in tables]
        assert len(kept[0]) == 3
        assert len(kept[2]) == 2  # the two typed filings' deadlines
        marked = set(connection.scalars(select(DirtyPeriod.day)
                                        .where(DirtyPeriod.family == "day")))
        filed = {local_date(at) for at in connection.scalars(select(Report.created_at))}
        due = {local_date(at) for at in connection.scalars(select(DeadlineFact.due_at))}
        assert filed | due <= marked
        facts.rebuild_facts(connection)
        assert [sorted(tuple(r) for r in connection.execute(select(t)))
                for t in tables] == kept
        db.session.rollback()
