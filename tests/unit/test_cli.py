"""Command-line tools operators use."""

from sqlalchemy import select

from portal.accounts.models import User
from portal.accounts.services import authenticate
from portal.extensions import db


def test_seed_prints_demo_logins_and_they_work(runner, app):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "Danh bạ cơ quan" in result.output
    lines = [line.split() for line in result.output.splitlines() if "vai trò" in line]
    logins = {parts[0]: parts[1] for parts in lines}
    assert set(logins) == {"admin", "triage", "supervisor", "custodian", "police", "inspectorate",
                           "procuracy"}
    with app.app_context():
        assert authenticate("police", logins["police"]).agency.code == "tn-police"
    # A second run prints the same logins and creates nobody new.
    again = runner.invoke(args=["seed"])
    assert logins["admin"] in again.output
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 7


def test_users_create_checks_role_and_agency(runner, app):
    ok = runner.invoke(args=["users", "create", "Lan", "--role", "agency", "--agency",
                             "tn-inspectorate", "--password", "mot-mat-khau-dai"])
    assert ok.exit_code == 0, ok.output
    missing_agency = runner.invoke(args=["users", "create", "binh", "--role", "agency",
                                         "--password", "mot-mat-khau-dai"])
    assert missing_agency.exit_code != 0 and "phải thuộc một cơ quan" in missing_agency.output
    short = runner.invoke(args=["users", "create", "chi", "--role", "triage", "--password", "ngan"])
    assert short.exit_code != 0 and "12 ký tự" in short.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "lan"))
        assert user.agency.code == "tn-inspectorate"
        assert user.password_hash.startswith("$argon2id$")
