"""Clusters and hot spots in the back office (docs/clusters.md): reports filed through the
form, read by each role."""

import re

import pytest
from sqlalchemy import select

from portal.agencies.models import Agency
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.reports import reporter
from portal.reports.models import Report
from tests.helpers import file_report, post_form
from tests.unit.supervision.test_clusters import (
    CLINIC,
    ROAD,
    ROAD_NEIGHBOUR,
    ROAD_NO_ACCENTS,
)
from tests.unit.supervision.test_hotspots import MATTERS

AN_KHANH, BA_BE = 5809, 1906
NAME, PHONE = "Nguyễn Thị Hoa", "0912 345 678"
# What a cluster page must never show: the reporter's identity and words of the reports.
SECRETS = (NAME, PHONE, "Lường Văn Toản", "Luong Van Toan", "nứt vỡ", "nut vo", "biên lai",
           "Đồng Mỏ", "Dong Mo", "bảo hiểm y tế")


@pytest.fixture
def filed(app, client):
    """Reports of Xã An Khánh — the road levy three times (with diacritics, without, and as a
    neighbour wrote it, named), and an unrelated clinic complaint — and the road levy word for
    word in Xã Ba Bể. Returns their ids by name."""

    def file(text, ward, **fields):
        code = file_report(client, ward_code=str(ward), text=text, **fields)
        with app.app_context():
            return reporter.find_by_code(code, app.config["SECRET_KEY"]).id

    return {
        "road": file(ROAD, AN_KHANH),
        "clinic": file(CLINIC, AN_KHANH),
        "copy": file(ROAD_NO_ACCENTS, AN_KHANH),
        "neighbour": file(ROAD_NEIGHBOUR, AN_KHANH, identity_choice="named", name=NAME,
                          phone=PHONE, contact_preference="phone"),
        "elsewhere": file(ROAD, BA_BE),
    }


def case_numbers(app, *ids) -> list[str]:
    with app.app_context():
        return [db.session.get(Report, rid).case_number for rid in ids]


def linked_cases(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/staff/triage/cases/(\d+)"', page)}


def similar_box(page: str) -> str:
    match = re.search(r'<section aria-labelledby="similar-title".*?</section>', page, re.S)
    return match.group(0) if match else ""


def test_the_case_page_shows_the_reports_about_the_same_matter(app, staff, filed):
    triage = staff("triage")
    page = triage.get(f"/staff/triage/cases/{filed['road']}").get_data(as_text=True)
    box = similar_box(page)
    assert "Có 2 phản ánh tương tự" in box
    assert linked_cases(box) == {filed["copy"], filed["neighbour"]}
    for number in case_numbers(app, filed["copy"], filed["neighbour"]):
        assert number in box
    assert f'href="/staff/triage/cases/{filed["road"]}/similar"' in box
    # The copy without diacritics finds the other two the same way.
    copy = triage.get(f"/staff/triage/cases/{filed['copy']}").get_data(as_text=True)
    assert linked_cases(similar_box(copy)) == {filed["road"], filed["neighbour"]}
    # Unrelated report in the same commune, and the same words in another commune: alone.
    for alone in ("clinic", "elsewhere"):
        page = triage.get(f"/staff/triage/cases/{filed[alone]}").get_data(as_text=True)
        assert similar_box(page) == "" and "phản ánh tương tự" not in page


def test_the_cluster_page_lists_members_without_text_or_identity(app, staff, filed):
    triage = staff("triage")
    response = triage.get(f"/staff/triage/cases/{filed['road']}/similar")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    main = page[page.index("<main"):page.index("</main>")]
    assert 'data-cluster-size="3"' in main
    assert {int(n) for n in re.findall(r'data-report="(\d+)"', main)} == {
        filed["road"], filed["copy"], filed["neighbour"]}
    for number in case_numbers(app, filed["road"], filed["copy"], filed["neighbour"]):
        assert number in main
    assert "Xã An Khánh, Thái Nguyên" in main and "Đã tiếp nhận" in main
    for secret in SECRETS:
        assert secret not in page, secret
    # Which cases the page listed is in the audit trail, with the case it was opened from.
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (entry.action, entry.report_id) == ("view_list", filed["road"])
        assert entry.detail["list"] == "triage.cluster"
        assert sorted(entry.detail["report_ids"]) == sorted(
            [filed["road"], filed["copy"], filed["neighbour"]])
    # A report with no cluster says so.
    alone = triage.get(f"/staff/triage/cases/{filed['clinic']}/similar").get_data(as_text=True)
    assert "Không có phản ánh nào tương tự hồ sơ này." in alone
    assert triage.get("/staff/triage/cases/999999/similar").status_code == 404


def test_triage_merges_a_member_as_a_duplicate_from_the_cluster_page(app, staff, filed):
    triage = staff("triage")
    cluster = f"/staff/triage/cases/{filed['neighbour']}/similar"
    page = triage.get(cluster).get_data(as_text=True)
    action = f'action="/staff/triage/cases/{filed["neighbour"]}/merge"'
    assert page.count(action) == 2  # one button per other member
    response = post_form(triage, f"/staff/triage/cases/{filed['neighbour']}/merge",
                         {"target_id": filed["road"]}, token_from=cluster)
    assert response.status_code == 302
    with app.app_context():
        merged = db.session.get(Report, filed["neighbour"])
        assert (merged.status, merged.duplicate_of_id) == ("duplicate", filed["road"])
    # Still the same matter: the cluster keeps it, marked as merged; no more merge buttons.
    page = triage.get(cluster).get_data(as_text=True)
    assert "Được giải quyết cùng tin khác" in page and f"(#{filed['road']})" in page
    assert action not in page
    road = triage.get(f"/staff/triage/cases/{filed['road']}").get_data(as_text=True)
    assert linked_cases(similar_box(road)) == {filed["copy"], filed["neighbour"]}


def test_who_sees_clusters(app, staff, filed):
    clients = {"triage": staff("triage"), "supervisor": staff("supervisor"),
               "admin": staff("admin"), "police": staff("agency", "tn-police")}
    with app.app_context():
        police = db.session.scalar(select(Agency.id).where(Agency.code == "tn-police"))
    case = f"/staff/triage/cases/{filed['road']}"
    post_form(clients["triage"], f"{case}/transfer",
              {"agency_id": police, "body": "Thu tiền trái quy định."}, token_from=case)
    cluster = f"{case}/similar"
    for role in ("triage", "supervisor", "admin"):
        assert clients[role].get(cluster).status_code == 200, role
        assert "Có 2 phản ánh tương tự" in clients[role].get(case).get_data(as_text=True)
    for role in ("supervisor", "admin"):
        page = clients[role].get(cluster).get_data(as_text=True)
        assert "/merge" not in page  # read-only roles get no merge buttons
        assert clients[role].get("/staff/supervision/clusters").status_code == 200
    # Triage staff see clusters from the case page, not the supervisors' pages.
    assert clients["triage"].get("/staff/supervision/clusters").status_code == 403
    assert clients["triage"].get("/staff/supervision/clusters/reports?days=7").status_code == 403
    # The agency holding one member sees that case only: no cluster, no link to the others.
    agency = clients["police"]
    assert agency.get(cluster).status_code == 403
    assert agency.get("/staff/supervision/clusters").status_code == 403
    own = agency.get(f"/staff/agency/cases/{filed['road']}").get_data(as_text=True)
    assert own and "tương tự" not in own
    for other in ("copy", "neighbour"):
        assert f"/cases/{filed[other]}" not in own
        assert agency.get(f"/staff/agency/cases/{filed[other]}").status_code == 404


def test_the_supervision_clusters_page(app, staff, filed):
    supervisor = staff("supervisor")
    page = supervisor.get("/staff/supervision/clusters").get_data(as_text=True)
    assert "Cụm phản ánh và điểm nóng" in page
    assert re.findall(r'data-cluster-size="(\d+)"', page) == ["3"]
    assert {int(n) for n in re.findall(r'data-report="(\d+)"', page)} == {
        filed["road"], filed["copy"], filed["neighbour"]}
    for secret in SECRETS:
        assert secret not in page, secret
    # Three similar reports are not a mass complaint, four in one commune are no hot spot…
    assert 'data-alert="large_cluster"' not in page
    assert 'data-alert="commune_surge"' not in page
    # …but five in one sector this week, with none before, are (the stub says "other").
    assert re.findall(r'data-alert="(\w+)"', page) == ["sector_surge"]
    assert ("Lĩnh vực Khác: 5 phản ánh trong 7 ngày qua, không có phản ánh nào trong 90 ngày "
            "trước đó.") in page


def test_alerts_link_to_the_reports_behind_them(app, client, staff, filed):
    for text in MATTERS[:4]:
        file_report(client, ward_code=str(BA_BE), text=text)
    supervisor = staff("supervisor")
    page = supervisor.get("/staff/supervision/clusters").get_data(as_text=True)
    alerts = page[page.index('class="supervision-alerts"'):page.index("</section>",
                                                                     page.index("alerts-title"))]
    # Xã Ba Bể: the road levy and four new reports this week, nothing before.
    assert 'data-alert="commune_surge"' in alerts
    assert "Điểm nóng theo địa bàn" in alerts  # said in words, not by colour
    assert ("Xã Ba Bể, Thái Nguyên: 5 phản ánh trong 7 ngày qua, không có phản ánh nào trong 90 "
            "ngày trước đó.") in alerts
    link = re.search(r'href="(/staff/supervision/clusters/reports\?[^"]*ward_code=1906[^"]*)"',
                     alerts).group(1).replace("&amp;", "&")
    listed = supervisor.get(link).get_data(as_text=True)
    with app.app_context():
        ba_be = set(db.session.scalars(select(Report.id).where(Report.ward_code == BA_BE)))
    assert {int(n) for n in re.findall(r'data-report="(\d+)"', listed)} == ba_be
    assert "Số hồ sơ: 5." in listed
    for secret in SECRETS:
        assert secret not in listed, secret
    # The whole province's "other" sector (the stub classifier's answer) surges as well.
    assert 'data-alert="sector_surge"' in alerts
    # English.
    english = supervisor.get("/staff/supervision/clusters?lang=en").get_data(as_text=True)
    assert "Hot spot by area" in english and "Clusters of similar reports" in english


def test_the_dashboard_partial_renders_on_its_own(app, staff, filed):
    """The supervision dashboard includes staff/_supervision_alerts.html; without alerts passed
    in, the partial computes them."""
    from flask import render_template_string

    from portal.supervision.hotspots import Alert

    with app.test_request_context("/staff/supervision/"):
        html = render_template_string('{% include "staff/_supervision_alerts.html" %}')
        assert re.findall(r'data-alert="(\w+)"', html) == ["sector_surge"]
        html = render_template_string('{% include "staff/_supervision_alerts.html" %}',
                                      cluster_alerts=[])
        assert "Hiện không có cảnh báo nào." in html
        given = [Alert(kind="mass_flag", count=3, days=30)]
        html = render_template_string('{% include "staff/_supervision_alerts.html" %}',
                                      cluster_alerts=given)
        assert "3 phản ánh được đánh dấu đông người trong 30 ngày qua." in html
        assert "/staff/supervision/clusters/reports?days=30&amp;mass=1" in html


def test_the_dashboard_shows_the_stored_alerts_with_the_time_they_were_computed(
        app, client, staff, filed, runner, monkeypatch):
    """The alerts take seconds at a million reports: the dashboard shows those the periodic
    `flask supervision refresh` stored, with their time, and never computes them per view
    (only once, on a new installation that has none yet)."""
    from portal.supervision import hotspots

    supervisor = staff("supervisor")
    page = supervisor.get("/staff/supervision/").get_data(as_text=True)
    assert re.findall(r'data-alert="(\w+)"', page) == ["sector_surge"]
    assert 'id="alerts-computed-at"' in page and "Cảnh báo tính lúc" in page
    computed = []
    real = hotspots.current_alerts
    monkeypatch.setattr(hotspots, "current_alerts",
                        lambda *args, **kwargs: computed.append(1) or real(*args, **kwargs))
    for text in MATTERS[:4]:
        file_report(client, ward_code=str(BA_BE), text=text)
    page = supervisor.get("/staff/supervision/").get_data(as_text=True)
    assert computed == []  # read, not computed
    assert re.findall(r'data-alert="(\w+)"', page) == ["sector_surge"]  # as stored
    result = runner.invoke(args=["supervision", "refresh"])
    assert result.exit_code == 0, result.output
    assert computed == [1] and "alerts: 2 in force" in result.output
    page = supervisor.get("/staff/supervision/?lang=en").get_data(as_text=True)
    assert 'data-alert="commune_surge"' in page and "Alerts computed at" in page
    # The clusters page still computes them as it is opened.
    supervisor.get("/staff/supervision/clusters")
    assert computed == [1, 1]
