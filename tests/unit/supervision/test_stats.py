"""The supervision figures against a hand-built history (tests/unit/supervision/history.py):
every figure, breakdown, stage time and drill-down list worked out by hand, on SQLite and on
PostgreSQL alike."""

from datetime import date

import pytest

from portal.extensions import db
from portal.routing import services as routing
from portal.supervision import stats
from tests.unit.supervision.history import Q3, agency_ids, build_history, vn


@pytest.fixture
def history(app, client, make_user, clock, monkeypatch):
    return build_history(app, client, make_user, clock, monkeypatch)


def ids(query) -> set[int]:
    return set(db.session.scalars(query))


def by_key(rows) -> dict:
    return {row.key: row for row in rows}


def test_totals_of_the_quarter(app, history):
    h = history
    with app.app_context():
        figures = stats.compute(Q3).total.counts
    assert figures == {
        "received": 5,  # R1–R5; R6 and R8 were filed before, R7 is spam
        "transferred": 5,  # R1, R2 twice, R4, R6
        "accepted": 3,  # R1, R2, R6
        "returned": 1,  # R2 by the police
        "resolved": 2,  # R1, R6
        "misrouted": 1,  # R2's first transfer
        "overdue": 6,  # R2 resolve, R3 reply, R4 notify + resolve, R5 forward; R6 accepted late
        "overdue_open": 5,
        "open_now": 5,  # R2, R3, R4, R5, R8
        "long_running": 3,  # R2 and R4 past their resolution deadline, R8 filed in April
        "crime_elsewhere": 2,  # R4 at the inspectorate, R5 still with the Front
    }, h


def test_stage_times_median_and_90th_percentile(app, history):
    with app.app_context():
        times = stats.compute(Q3).total.stage_times
    # Front: 1 h (R4), 6 h (R1), 1 d (R2 after its return), 2 d (R2), 12 d (R6).
    assert times["transfer"].count == 5
    assert times["transfer"].median_days == pytest.approx(1.0, abs=1e-6)
    assert times["transfer"].p90_days == pytest.approx(12.0, abs=1e-6)
    # Agencies accepting: 1.75 d (R1), 4 d (R2 at the inspectorate), 13 d (R6).
    assert (times["accept"].count, times["accept"].median_days, times["accept"].p90_days) == (
        3, pytest.approx(4.0, abs=1e-6), pytest.approx(13.0, abs=1e-6))
    # Results: 5 d (R6), 10 d (R1); the median of two is the lower one (percentile_disc).
    assert (times["resolve"].count, times["resolve"].median_days, times["resolve"].p90_days) == (
        2, pytest.approx(5.0, abs=1e-6), pytest.approx(10.0, abs=1e-6))


def test_breakdowns_by_agency_sector_type_month_outcome(app, history):
    with app.app_context():
        police, inspectorate = agency_ids("tn-police", "tn-inspectorate")
        result = stats.compute(Q3)
        agencies = by_key(result.breakdowns["agency"])
        sectors = by_key(result.breakdowns["sector"])
        types = by_key(result.breakdowns["report_type"])
        months = by_key(result.breakdowns["month"])
        outcomes = by_key(result.breakdowns["outcome"])
    assert list(agencies) == [None, police, inspectorate] or set(agencies) == {
        None, police, inspectorate}
    assert agencies[None].label == "Mặt trận Tổ quốc"
    p, i, front = agencies[police].counts, agencies[inspectorate].counts, agencies[None].counts
    assert (p["transferred"], p["accepted"], p["returned"], p["resolved"], p["misrouted"]) == (
        3, 2, 1, 2, 1)
    assert agencies[police].misrouting_rate == pytest.approx(1 / 3)
    assert (p["overdue"], p["overdue_open"], p["open_now"]) == (1, 0, 0)
    assert (i["transferred"], i["accepted"], i["misrouted"], i["overdue"], i["open_now"],
            i["long_running"], i["crime_elsewhere"]) == (2, 1, 0, 3, 2, 2, 1)
    assert (front["overdue"], front["open_now"], front["long_running"],
            front["crime_elsewhere"]) == (2, 3, 1, 1)
    assert agencies[police].stage_times["accept"].median_days == pytest.approx(1.75, abs=1e-6)
    assert agencies[inspectorate].stage_times["transfer"].count == 2

    assert sectors["land"].counts["received"] == 3
    assert sectors["personnel"].counts["received"] == 1
    assert sectors[None].counts["received"] == 1 and sectors[None].label == "Chưa phân loại"
    assert sectors["health"].counts["resolved"] == 1
    assert sectors["education"].counts["received"] == 0  # every sector is listed
    assert {k: r.counts["received"] for k, r in types.items()} == {
        "crime_report": 2, "denunciation": 2, "complaint": 0, "petition": 1}
    assert {k: r.counts["received"] for k, r in months.items()} == {
        "2026-07": 2, "2026-08": 1, "2026-09": 2}
    assert months["2026-07"].label == "07/2026"
    assert outcomes["prosecuted"].counts["resolved"] == 1
    assert outcomes["upheld"].counts["resolved"] == 1
    assert sum(r.counts["resolved"] for r in outcomes.values()) == 2
    # The sum of any breakdown is the whole.
    for dim in ("sector", "report_type", "month"):
        assert sum(r.counts["received"] for r in result.breakdowns[dim]) == 5


def test_places_are_provinces_until_a_province_is_chosen_then_communes(app, history):
    with app.app_context():
        provinces = by_key(stats.compute(Q3, ("place",)).breakdowns["place"])
        communes = by_key(stats.compute(stats.StatsFilter(Q3.date_from, Q3.date_to,
                                                          province_code=19),
                                        ("place",)).breakdowns["place"])
    assert provinces[19].counts["received"] == 5 and provinces[19].label == "Thái Nguyên"
    assert communes[5533].counts["received"] == 1 and communes[5533].label == "Phường Bá Xuyên"
    assert communes[None].counts["received"] == 4


def test_filters_narrow_every_figure(app, history):
    with app.app_context():
        police, = agency_ids("tn-police")
        only_police = stats.compute(stats.StatsFilter(Q3.date_from, Q3.date_to,
                                                      agency_id=police)).total.counts
        land = stats.compute(stats.StatsFilter(Q3.date_from, Q3.date_to, sector="land")).total
        complaints = stats.compute(stats.StatsFilter(Q3.date_from, Q3.date_to,
                                                     report_type="complaint")).total
        july = stats.compute(stats.StatsFilter(date(2026, 7, 1), date(2026, 7, 31))).total
    # The police were sent R1, R2 (filed in the quarter) and R6 (filed in June).
    assert (only_police["received"], only_police["transferred"], only_police["accepted"],
            only_police["returned"], only_police["resolved"], only_police["overdue"],
            only_police["open_now"]) == (2, 3, 2, 1, 2, 1, 0)
    assert (land.counts["received"], land.counts["transferred"], land.counts["crime_elsewhere"],
            land.counts["long_running"]) == (3, 3, 1, 1)
    assert (complaints.counts["received"], complaints.counts["transferred"],
            complaints.counts["resolved"], complaints.counts["overdue"]) == (0, 1, 1, 1)
    assert (july.counts["received"], july.counts["transferred"], july.counts["accepted"],
            july.counts["resolved"]) == (2, 4, 3, 2)


def test_misrouting_agrees_with_the_routing_service(app, history):
    with app.app_context():
        ours = stats.compute(stats.StatsFilter(date(2026, 7, 1), date(2026, 10, 5)),
                             ()).total
        theirs = routing.misrouting_rate(since=vn(2026, 7, 1, 0))
    assert (ours.counts["transferred"], ours.counts["misrouted"]) == (
        theirs.transfers, theirs.returns)
    assert ours.misrouting_rate == pytest.approx(theirs.rate)


def test_drill_down_lists_the_reports_behind_each_figure(app, history):
    h = history
    with app.app_context():
        police, inspectorate = agency_ids("tn-police", "tn-inspectorate")
        assert ids(stats.case_ids(Q3, "received", "sector", "land")) == {h.r1, h.r2, h.r5}
        assert ids(stats.case_ids(Q3, "received", "sector", None)) == {h.r3}
        assert ids(stats.case_ids(Q3, "misrouted")) == {h.r2}
        assert ids(stats.case_ids(Q3, "transferred", "agency", police)) == {h.r1, h.r2, h.r6}
        assert ids(stats.case_ids(Q3, "crime_elsewhere", "agency", None)) == {h.r5}
        assert ids(stats.case_ids(Q3, "crime_elsewhere")) == {h.r4, h.r5}
        assert ids(stats.case_ids(Q3, "long_running")) == {h.r2, h.r4, h.r8}
        assert ids(stats.case_ids(Q3, "overdue", "agency", inspectorate)) == {h.r2, h.r4}
        assert ids(stats.case_ids(Q3, "resolved", "outcome", "upheld")) == {h.r6}
        assert ids(stats.case_ids(Q3, "received", "month", "2026-09")) == {h.r4, h.r5}
        with pytest.raises(KeyError):
            stats.case_ids(Q3, "received", "agency", police)  # filing has no agency


def test_long_running_threshold_is_configurable(app, history, monkeypatch):
    monkeypatch.setitem(app.config, "SUPERVISION_LONG_RUNNING_DAYS", 30)
    h = history
    with app.app_context():
        # R3 (filed 3 August) is now long-running too; R5 (15 September) is not.
        assert ids(stats.case_ids(Q3, "long_running")) == {h.r2, h.r3, h.r4, h.r8}


def test_an_undecided_report_the_classifier_flags_counts_until_staff_say_no(
        app, client, make_user, clock, monkeypatch):
    from portal.reports import handling
    from portal.reports.models import Report
    from tests.unit.supervision.history import act, file_at

    clock.set(2026, 7, 6, 9)
    make_user("front", "triage")
    rid = file_at(app, client, clock, (2026, 7, 6, 9), "")  # "hối lộ": the stub flags it
    period = stats.StatsFilter(date(2026, 7, 1), date(2026, 9, 30))
    with app.app_context():
        assert stats.compute(period, ()).total.counts["crime_elsewhere"] == 1
    act(app, rid, "front", handling.classify, report_type="denunciation", sector="land",
        subject="official", flags=[], crime=False)
    with app.app_context():
        assert db.session.get(Report, rid).crime_confirmed is False
        assert stats.compute(period, ()).total.counts["crime_elsewhere"] == 0
