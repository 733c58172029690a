"""Every form that changes something refuses a request without a valid CSRF token.

The routes are read from the application's URL map, so a new POST view is covered the day it
is added. Only the JSON API is exempt: it uses no cookie, so a forged cross-site request has no
session to ride on (tests/unit/test_security_headers.py checks it sets none).
"""

import re

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.reports.models import Report
from tests.helpers import file_report

ROLES = ("triage", "agency", "supervisor", "admin", "custodian")


def post_routes(app) -> list[str]:
    """Every POST URL outside the API, with numeric placeholders for its parameters."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        urls.append(re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule))
    return sorted(set(urls))


def test_the_url_map_has_public_and_staff_forms(app):
    urls = post_routes(app)
    assert any(u.startswith("/staff/") for u in urls)
    assert any(not u.startswith("/staff/") for u in urls)
    assert len(urls) >= 20


@pytest.mark.parametrize("role", ROLES)
def test_no_post_route_acts_without_a_csrf_token(app, client, staff, role):
    file_report(client)
    user_client = staff(role, "tn-police" if role == "agency" else None)
    with app.app_context():
        before = (db.session.scalar(select(func.count(AuditEntry.id))),
                  db.session.scalar(select(Report.status)))
    for url in post_routes(app):
        for token in (None, "forged"):
            data = {"csrf_token": token} if token else {}
            response = user_client.post(url, data=data)
            assert response.status_code == 400, (url, token, response.status_code)
            assert "Phiên làm việc đã hết hạn" in response.get_data(as_text=True), url
    with app.app_context():
        after = (db.session.scalar(select(func.count(AuditEntry.id))),
                 db.session.scalar(select(Report.status)))
    # Logging in wrote audit entries before; the refused posts wrote none and changed nothing.
    assert after == before
