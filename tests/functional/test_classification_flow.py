"""The portal's use of the classifier: after filing, never blocking the reporter; in the
queue (crime signs first, filters) and on the case page (evidence highlighted); corrections."""

import json
import threading

from sqlalchemy import select

from portal.classification import services
from portal.classification.models import Classification
from portal.extensions import db
from portal.jobs.runners import ThreadRunner
from portal.reports.models import Report
from tests.helpers import StubClassifier, csrf_token, file_report

PLAIN = "Đèn đường ở tổ 7 phường Gia Sàng hỏng đã ba tháng, đề nghị sửa sớm giúp bà con đi lại."
CRIME = "Ông cán bộ địa chính xã nhận hối lộ 50 triệu để làm sổ đỏ cho người nhà, ai cũng biết."


def _queue(client, **params):
    return client.get("/staff/triage/", query_string=params).get_data(as_text=True)


def test_filing_stores_the_classifiers_answer(client, app):
    file_report(client, text=CRIME)
    with app.app_context():
        row = db.session.scalar(select(Classification))
        assert row.sector == "land" and row.crime_flag is True
        assert row.result["crime_signs"]["articles"][0]["article"] == 354


def test_crime_sign_reports_come_first_and_filters_use_the_suggestion(client, staff):
    file_report(client, text=PLAIN)
    file_report(client, text=CRIME)  # newer, but with signs of a crime
    triage = staff("triage")
    page = _queue(triage)
    assert page.index("nhận hối lộ") < page.index("Đèn đường")
    assert "Dấu hiệu tội phạm" in page
    only_crime = _queue(triage, crime="yes")
    assert "nhận hối lộ" in only_crime and "Đèn đường" not in only_crime
    no_crime = _queue(triage, crime="no")
    assert "Đèn đường" in no_crime and "nhận hối lộ" not in no_crime
    land = _queue(triage, sector="land")
    assert "nhận hối lộ" in land and "Đèn đường" not in land


def test_case_page_highlights_evidence_and_prefills_the_suggestion(client, staff, app):
    file_report(client, text=CRIME)
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    page = staff("triage").get(f"/staff/triage/cases/{report_id}").get_data(as_text=True)
    assert "<mark>hối lộ</mark>" in page
    assert "Điều 354" in page and "Gợi ý phân loại của máy" in page
    assert '<option selected value="land">' in page or 'value="land" selected' in page


def test_staff_decision_overrides_the_suggestion_and_becomes_a_correction(client, staff, app,
                                                                          runner, tmp_path):
    file_report(client, text=CRIME)
    triage = staff("triage")
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    url = f"/staff/triage/cases/{report_id}"
    response = triage.post(f"{url}/classify", data={
        "csrf_token": csrf_token(triage, url), "report_type": "petition",
        "sector": "admin_procedure", "subject": "official", "crime": "no",
    })
    assert response.status_code == 302
    assert "nhận hối lộ" not in _queue(triage, crime="yes")
    out = tmp_path / "corrections.jsonl"
    result = runner.invoke(args=["classifier", "export-corrections", "--out", str(out)])
    assert result.exit_code == 0, result.output
    (line,) = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == {"text": CRIME, "sector": "admin_procedure",
                                "report_type": "petition", "subject": "official",
                                "crime": False, "flags": []}


def test_without_a_trained_model_filing_works_and_run_pending_catches_up(client, app, runner):
    holder = app.extensions["tinbao.classifier"]

    def missing(_app):
        raise services.ClassifierUnavailable("no trained model")

    original = holder._factory
    holder._factory, holder._classifier = missing, None
    try:
        file_report(client, text=CRIME)
        with app.app_context():
            assert db.session.scalar(select(Classification)) is None
        assert runner.invoke(args=["classifier", "run-pending"]).exit_code != 0
    finally:
        holder._factory, holder._classifier = original, None
    result = runner.invoke(args=["classifier", "run-pending"])
    assert "Đã phân loại 1 hồ sơ" in result.output
    with app.app_context():
        assert db.session.scalar(select(Classification)).crime_flag is True


def test_the_reporter_never_waits_for_the_classifier(client, app):
    release = threading.Event()
    done = threading.Event()

    class SlowClassifier(StubClassifier):
        def predict(self, items):
            release.wait(10)
            try:
                return super().predict(items)
            finally:
                done.set()

    holder = app.extensions["tinbao.classifier"]
    runner_before, factory_before = app.extensions["tinbao.jobs"], holder._factory
    app.extensions["tinbao.jobs"] = ThreadRunner()
    holder._factory, holder._classifier = (lambda _app: SlowClassifier()), None
    try:
        code = file_report(client, text=CRIME)  # returns while the classifier is blocked
        assert code and not done.is_set()
        release.set()
        assert done.wait(10)
    finally:
        app.extensions["tinbao.jobs"] = runner_before
        holder._factory, holder._classifier = factory_before, None
