"""``flask --app portal …`` commands: seed the directory and demo accounts, manage users."""

import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from portal.accounts.models import ROLES, User
from portal.accounts.services import AccountError, create_user, reset_two_factor
from portal.agencies.models import Agency
from portal.agencies.seed import load_directory
from portal.extensions import db

# Demo accounts for a fresh install: one per role, the agency users at bodies that the
# routing rules use most.
DEMO_USERS = [
    ("admin", "admin", None, "Quản trị hệ thống"),
    ("triage", "triage", None, "Cán bộ tiếp nhận MTTQ"),
    ("supervisor", "supervisor", None, "Cán bộ giám sát"),
    ("custodian", "custodian", None, "Người giữ danh tính người gửi"),
    ("police", "agency", "tn-police", "Cán bộ Công an tỉnh"),
    ("inspectorate", "agency", "tn-inspectorate", "Cán bộ Thanh tra tỉnh"),
    ("procuracy", "agency", "tn-procuracy", "Cán bộ Viện kiểm sát"),
]


def register_commands(app) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(users_group)
    app.cli.add_command(classifier_group)
    from portal.audit.cli import audit_group
    from portal.deadlines.reminders import deadlines_group
    from portal.reports.retention import retention_group
    from portal.routing.cli import routing_group

    app.cli.add_command(audit_group)
    app.cli.add_command(retention_group)
    app.cli.add_command(routing_group)
    app.cli.add_command(deadlines_group)


@click.command("seed")
@with_appcontext
@click.option("--demo-users/--no-demo-users", default=True, help="Also create demo staff accounts.")
def seed_command(demo_users: bool) -> None:
    """Load the agency directory and (by default) demo staff accounts, printing their logins."""
    created = load_directory()
    total = db.session.scalar(select(db.func.count(Agency.id)))
    click.echo(f"Danh bạ cơ quan: thêm {created}, tổng {total}.")
    if demo_users:
        _seed_demo_users()


def _seed_demo_users() -> None:
    # Passwords are random per installation and kept (0600) in instance/ so the first-run
    # message can be repeated; nothing fixed ships in the code.
    path = Path(current_app.instance_path) / "demo-logins.txt"
    known = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            username, _, password = line.partition(" ")
            known[username] = password
    for username, role, agency_code, name in DEMO_USERS:
        if db.session.scalar(select(User).where(User.username == username)):
            continue
        agency = None
        if agency_code:
            agency = db.session.scalar(select(Agency).where(Agency.code == agency_code))
        password = secrets.token_urlsafe(12)
        create_user(username, password, role, display_name=name, agency=agency)
        known[username] = password
    db.session.commit()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(f"{u} {p}\n" for u, p in known.items())
    click.echo("Tài khoản thử nghiệm (đăng nhập tại http://127.0.0.1:5000/staff/login):")
    for username, role, agency_code, _name in DEMO_USERS:
        if username in known:
            where = f" — {agency_code}" if agency_code else ""
            click.echo(f"  {username:<13} {known[username]:<18} vai trò {role}{where}")


@click.group("users", cls=AppGroup)
def users_group() -> None:
    """Manage staff accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--agency", "agency_code", help="Agency code (for role 'agency').")
@click.option("--name", "display_name", help="Display name.")
@click.option("--email", help="Where deadline reminders go with SMTP (docs/deadlines.md).")
@click.password_option(help="Password (asked twice when not given).")
def create_user_command(username, role, agency_code, display_name, email, password) -> None:
    """Create a staff account."""
    agency = None
    if agency_code:
        agency = db.session.scalar(select(Agency).where(Agency.code == agency_code))
        if agency is None:
            raise click.ClickException(f"Không có cơ quan mã {agency_code}.")
    try:
        user = create_user(username, password, role, display_name=display_name, agency=agency)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    user.email = (email or "").strip() or None
    db.session.commit()
    click.echo(f"Đã tạo tài khoản {username.lower()} ({role}).")


@users_group.command("set-email")
@click.argument("username")
@click.argument("email", required=False)
def set_email_command(username, email) -> None:
    """Set (or, without EMAIL, remove) the address deadline reminders are mailed to."""
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"Không có tài khoản {username}.")
    user.email = (email or "").strip() or None
    db.session.commit()
    click.echo(f"Thư điện tử của {user.username}: {user.email or '(không có)'}.")


@users_group.command("reset-2fa")
@click.argument("username")
def reset_two_factor_command(username) -> None:
    """Remove a user's two-factor secret (lost phone, or after changing SECRET_KEY)."""
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"Không có tài khoản {username}.")
    reset_two_factor(user)
    db.session.commit()
    click.echo(f"Đã đặt lại xác thực hai bước của {user.username}; "
               "người này sẽ đăng ký lại ở lần đăng nhập tới.")


@users_group.command("list")
def list_users_command() -> None:
    """List staff accounts."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        agency = user.agency.code if user.agency else ""
        state = "" if user.active else " (khóa)"
        click.echo(f"{user.username:<20} {user.role:<11} {agency}{state}")


@click.group("classifier", cls=AppGroup)
def classifier_group() -> None:
    """Run the classifier on stored reports; export staff corrections."""


@classifier_group.command("run-pending")
def run_pending_command() -> None:
    """Classify every report that has no classification yet (e.g. filed before training)."""
    from portal.classification import services

    try:
        classifier = current_app.extensions["tinbao.classifier"].get()
    except services.ClassifierUnavailable as exc:
        raise click.ClickException(f"{exc} — chạy: python -m classifier train") from exc
    ids = services.unclassified_report_ids()
    for report_id in ids:
        services.classify_report(report_id, classifier)
    click.echo(f"Đã phân loại {len(ids)} hồ sơ.")


@classifier_group.command("export-corrections")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Default: instance/classifier-corrections.jsonl")
def export_corrections_command(out_path: Path | None) -> None:
    """Write staff-confirmed labels for `python -m classifier train --include-corrections`."""
    from portal.classification import services

    out_path = out_path or Path(current_app.instance_path) / "classifier-corrections.jsonl"
    count = services.write_corrections(out_path)
    click.echo(f"Đã ghi {count} nhãn vào {out_path}.")
