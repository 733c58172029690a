"""Hot-spot and mass-complaint alerts (portal/supervision/hotspots.py) on stored reports."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.services import create_user
from portal.classification import services as classification
from portal.extensions import db
from portal.public.views import storage
from portal.reports import handling, intake
from portal.reports.models import Report
from portal.supervision import clusters, hotspots
from tests.helpers import StubClassifier
from tests.unit.supervision.test_clusters import CLINIC, LAND, ROAD, ROAD_NO_ACCENTS

AN_KHANH, BA_BE, BANG_VAN = 5809, 1906, 1942
NOW = datetime(2026, 10, 5, 3, tzinfo=UTC)
# One window, a short baseline: a commune needs 5 reports in the week and twice its usual rate.
HOT = hotspots.Settings(windows=(7,), baseline_days=28, ratio=2.0, min_count=5, mass_days=30)
GROUPING = clusters.Settings()

# Different matters, so that surges are not clusters.
MATTERS = [
    "Trường tiểu học xã thu tiền xây nhà xe 300 nghìn mỗi học sinh, phụ huynh không được họp bàn.",
    "Bãi rác tự phát cạnh suối Khuôn Ninh bốc mùi, rác thải tràn xuống ruộng lúa của các hộ.",
    "Xe chở cát quá tải chạy đêm làm hỏng đường liên xóm, bụi phủ kín nhà dân hai bên đường.",
    "Hộ nghèo thôn Nà Mò chưa nhận được gạo cứu trợ tết dù danh sách đã niêm yết từ tháng trước.",
    "Quán karaoke mở nhạc quá nửa đêm, có nhóm thanh niên tụ tập đánh bạc, gây mất trật tự.",
    "Cán bộ một cửa xã đòi 200 nghìn mới nhận hồ sơ đăng ký khai sinh cho con tôi, không biên lai.",
    "Công trình nhà văn hóa thôn mới nghiệm thu đã thấm dột, tường nứt, nghi rút bớt vật liệu.",
    "Trạm bơm thủy lợi không vận hành đúng lịch, ruộng hai thôn thiếu nước cấy vụ đông xuân.",
]


class MassClassifier(StubClassifier):
    """The stub, plus the ``mass`` flag when the text speaks of many households signing."""

    def predict(self, items):
        answers = super().predict(items)
        for item, answer in zip(items, answers, strict=True):
            if "hộ cùng ký" in item["text"]:
                answer["flags"] = [*answer["flags"], "mass"]
        return answers


@pytest.fixture
def add(ctx, app):
    """Store a report as filed ``days_ago`` days before NOW (classified by the stub)."""

    def _add(text, *, ward=BA_BE, days_ago=1.0, classifier=None):
        report, _code = intake.file_report(
            intake.Submission(text=text, province_code=19, ward_code=ward),
            secret_key=app.config["SECRET_KEY"], storage=storage())
        report.created_at = NOW - timedelta(days=days_ago)
        db.session.commit()
        classification.classify_report(report.id, classifier or StubClassifier())
        return report.id

    return _add


def alerts(kind=None, settings=HOT):
    found = hotspots.current_alerts(NOW, settings, GROUPING)
    return [a for a in found if kind is None or a.kind == kind]


def test_a_commune_with_many_reports_this_week_raises_an_alert(add):
    ids = [add(text, days_ago=0.5 + n) for n, text in enumerate(MATTERS[:6])]
    add(MATTERS[6], ward=AN_KHANH)  # another commune, one report
    (alert,) = alerts("commune_surge")
    assert (alert.ward_code, alert.province_code, alert.count, alert.days) == (BA_BE, 19, 6, 7)
    assert alert.expected == 0
    assert alert.filters == {"days": 7, "ward_code": BA_BE}
    assert hotspots.alert_reports(NOW, **alert.filters) == ids  # newest first
    # The same reports are one sector's surge too (the stub says "other" for all of them).
    (sector,) = alerts("sector_surge")
    assert (sector.sector, sector.count) == ("other", 7)
    assert hotspots.alert_reports(NOW, days=7, sector="other")[-1] == ids[-1]


def test_below_the_minimum_no_alert(add):
    for n, text in enumerate(MATTERS[:4]):
        add(text, days_ago=1 + n)
    assert alerts() == []


def test_reports_older_than_the_window_or_spam_do_not_count(add, app):
    for n, text in enumerate(MATTERS[:4]):
        add(text, days_ago=1 + n)
    add(MATTERS[4], days_ago=8)  # outside the week
    spam = add(MATTERS[5], days_ago=1)
    user = create_user("front", "correct horse battery staple", "triage")
    db.session.commit()
    handling.mark_spam(user, db.session.get(Report, spam), "Quảng cáo")
    assert alerts() == []


def test_a_commune_that_always_has_many_reports_is_not_a_hot_spot(add):
    # Usual rate: 14 reports in the 4 weeks before → 3.5 a week; 6 this week is < 2 × 3.5.
    for n in range(14):
        add(MATTERS[n % len(MATTERS)] + f" Lần {n}.", days_ago=8 + 2 * n)
    for n in range(6):
        add(MATTERS[n], days_ago=0.5 + n)
    assert alerts("commune_surge") == []
    # One more report tips it over: 7 ≥ 2 × 3.5.
    add(MATTERS[7], days_ago=0.2)
    (alert,) = alerts("commune_surge")
    assert (alert.count, alert.expected) == (7, 3.5)


def test_the_shortest_window_that_fires_is_the_one_shown(add):
    for n, text in enumerate(MATTERS[:6]):
        add(text, days_ago=0.5 + n)
    two = hotspots.Settings(windows=(7, 30), baseline_days=90, ratio=2.0, min_count=5)
    assert [(a.kind, a.days) for a in alerts(settings=two)] == [("commune_surge", 7),
                                                                 ("sector_surge", 7)]


def test_settings_from_the_app_config(app):
    hot = hotspots.Settings.from_config({**app.config, "HOTSPOT_WINDOWS": "30, 7"})
    assert hot.windows == (7, 30) and hot.baseline_days == 90 and hot.min_count == 5
    assert clusters.Settings.from_config(app.config) == clusters.Settings()


def test_mass_complaints_flagged_by_the_classifier_or_by_staff(add):
    signed = "Chúng tôi gồm 40 hộ cùng ký đơn phản đối việc lấy đất ruộng làm bãi đỗ xe."
    by_classifier = add(signed, classifier=MassClassifier())
    confirmed = add(LAND, ward=AN_KHANH)
    overruled = add(signed + " Thôn Bản Pậu.", ward=BANG_VAN, classifier=MassClassifier())
    front = create_user("front", "correct horse battery staple", "triage")
    db.session.commit()
    handling.classify(front, db.session.get(Report, confirmed), report_type="complaint",
                      sector="land", subject="official", flags=["mass"])
    # Staff decided this one is not a mass complaint: their answer wins over the classifier's.
    handling.classify(front, db.session.get(Report, overruled), report_type="complaint",
                      sector="land", subject="official", flags=[])
    (alert,) = alerts("mass_flag")
    assert (alert.count, alert.days, alert.filters) == (2, 30, {"days": 30, "mass": 1})
    assert set(hotspots.mass_flagged(NOW, 30)) == {by_classifier, confirmed}
    assert hotspots.alert_reports(NOW, days=30, mass=True, ward_code=AN_KHANH) == [confirmed]


def test_a_large_cluster_is_a_mass_complaint(add):
    copies = [add(text, ward=AN_KHANH, days_ago=days)
              for days, text in ((9, ROAD), (8, ROAD_NO_ACCENTS), (6, ROAD), (3, ROAD),
                                 (1, ROAD_NO_ACCENTS))]
    add(CLINIC, ward=AN_KHANH)
    (alert,) = alerts("large_cluster")
    assert (alert.count, alert.report_id, alert.ward_code) == (5, copies[-1], AN_KHANH)
    assert clusters.recent_clusters(NOW, GROUPING) == [copies]
    # With a higher bar, five copies are a cluster but not an alert.
    assert not [a for a in hotspots.current_alerts(NOW, HOT, clusters.Settings(mass_size=6))
                if a.kind == "large_cluster"]


def test_cluster_of_a_stored_report_reads_only_its_block(add):
    road = add(ROAD, ward=AN_KHANH, days_ago=3)
    copy = add(ROAD_NO_ACCENTS, ward=AN_KHANH, days_ago=2)
    add(ROAD, ward=BA_BE, days_ago=2)  # the same words elsewhere
    add(ROAD, ward=AN_KHANH, days_ago=3 + GROUPING.window_days + 1)  # long before
    report = db.session.get(Report, road)
    assert clusters.cluster_of(report, GROUPING) == [road, copy]
    assert [r.id for r in clusters.members_of([copy, road])] == [copy, road]
