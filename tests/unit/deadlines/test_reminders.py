"""`flask --app portal deadlines remind`: reminders to whoever must act, escalation of overdue
deadlines to supervisors, once a day, through the configured senders — and never a word about
the reporter or the report itself."""

import email
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from portal import notify
from portal.accounts.models import User
from portal.deadlines.models import DeadlineNotification
from portal.extensions import db
from portal.reports.models import Report
from tests.functional.test_backoffice import classify, report_id, transfer
from tests.helpers import file_report

NAME, PHONE = "Nguyễn Thị Mai", "0912345678"
TEXT = "Trưởng công an xã Hóa Thượng thu tiền bảo kê của các quán karaoke mỗi tháng 20 triệu."


@pytest.fixture
def outbox(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "outbox"
    monkeypatch.setitem(app.extensions, "tinbao.notifier",
                        notify.Notifier([notify.FileSender(folder, "nhac-han@tinbao.test")]))
    return folder


def messages(folder: Path) -> dict[str, list[email.message.EmailMessage]]:
    """``{username: [message, …]}`` from the outbox."""
    found: dict[str, list] = {}
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        username = path.stem.split("-", 1)[1]
        found.setdefault(username, []).append(message)
    return found


@pytest.fixture
def late_cases(app, client, staff, make_user, clock, monkeypatch):
    """A named crime report still with the Front (overdue) and a denunciation with the police
    (due soon), seen on Tuesday 15/09/2026."""
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)
    clock.set(2026, 9, 7, 9)
    crime = report_id(app, file_report(client, report_type="crime_report", text=TEXT,
                                       identity_choice="named", name=NAME, phone=PHONE))
    denunciation = report_id(app, file_report(client, report_type="denunciation", text=TEXT))
    triage = staff("triage", username="front")
    classify(triage, denunciation, report_type="denunciation", flags=())
    transfer(triage, app, denunciation, "tn-police", override_reason="Thử thời hạn.")
    make_user("police-officer", "agency", "tn-police")
    make_user("procuracy-officer", "agency", "tn-procuracy")
    make_user("boss", "supervisor")
    with app.app_context():
        db.session.execute(update(User).where(User.username == "police-officer")
                           .values(email="police.officer@congan.test"))
        db.session.commit()
        numbers = {rid: db.session.get(Report, rid).case_number for rid in (crime, denunciation)}
    clock.set(2026, 9, 15, 10)
    return {"crime": crime, "denunciation": denunciation, "numbers": numbers}


def test_reminds_the_responsible_staff_and_escalates_overdue_to_supervisors(
        app, runner, outbox, late_cases):
    result = runner.invoke(args=["deadlines", "remind"])
    assert result.exit_code == 0, result.output
    assert "Đã gửi 3 thư: 2 nhắc hạn, 1 báo cáo quá hạn." in result.output
    sent = messages(outbox)
    assert set(sent) == {"front", "police-officer", "boss"}  # not the procuracy's officer
    crime, denunciation = late_cases["crime"], late_cases["denunciation"]
    numbers = late_cases["numbers"]

    front = sent["front"][0]
    body = front.get_content()
    assert numbers[crime] in body and numbers[denunciation] not in body
    assert "Quá hạn 7 ngày" in body and "08/09/2026 23:59" in body
    assert f"http://127.0.0.1:5000/staff/triage/cases/{crime}" in body
    assert "Mặt trận chuyển đến cơ quan có thẩm quyền" in body
    assert "1 hồ sơ quá hạn" in front["Subject"]

    police = sent["police-officer"][0]
    assert police["To"] == "police.officer@congan.test"
    body = police.get_content()
    assert numbers[denunciation] in body and numbers[crime] not in body
    assert "Còn 1 ngày làm việc" in body and "16/09/2026 23:59" in body
    assert f"/staff/agency/cases/{denunciation}" in body

    body = sent["boss"][0].get_content()
    assert "Báo cáo giám sát" in body and numbers[crime] in body
    assert numbers[denunciation] not in body  # due soon is not escalated

    for message in (m for ms in sent.values() for m in ms):
        text = message.as_string()
        for secret in (NAME, PHONE, TEXT, TEXT[:30], "karaoke", "bảo kê"):
            assert secret not in text and secret not in message.get_content()


def test_running_twice_the_same_day_sends_nothing_new(app, runner, outbox, late_cases, clock):
    assert "Đã gửi 3 thư" in runner.invoke(args=["deadlines", "remind"]).output
    files = sorted(outbox.iterdir())
    clock.set(2026, 9, 15, 17)
    again = runner.invoke(args=["deadlines", "remind"])
    assert "Đã gửi 0 thư: 0 nhắc hạn, 0 báo cáo quá hạn." in again.output
    assert sorted(outbox.iterdir()) == files
    with app.app_context():
        assert db.session.scalar(select(func.count(DeadlineNotification.id))) == 3

    clock.set(2026, 9, 16, 8)  # the next day: reminded again
    assert "Đã gửi 3 thư" in runner.invoke(args=["deadlines", "remind"]).output
    assert len(list(outbox.iterdir())) == 6


def test_nothing_due_sends_nothing(app, runner, outbox, late_cases, clock):
    clock.set(2026, 9, 7, 10)
    result = runner.invoke(args=["deadlines", "remind"])
    # Only the crime report (due tomorrow, 1 working day) is due soon then.
    assert "Đã gửi 1 thư: 1 nhắc hạn, 0 báo cáo quá hạn." in result.output
    assert set(messages(outbox)) == {"front"}


def test_default_senders_write_to_the_instance_outbox(app, tmp_path):
    notifier = notify.from_config({"NOTIFY_SENDERS": ""}, str(tmp_path))
    assert [type(s) for s in notifier.senders] == [notify.FileSender]
    notifier.send(notify.Notification("lan", None, "Chủ đề", "Nội dung"))
    (written,) = (tmp_path / "outbox").iterdir()
    assert written.stat().st_mode & 0o777 == 0o600
    assert "Chủ đề" in email.message_from_bytes(written.read_bytes(),
                                                policy=email.policy.default)["Subject"]
    with pytest.raises(ValueError, match="unknown notification sender"):
        notify.from_config({"NOTIFY_SENDERS": "pigeon"}, str(tmp_path))
    with pytest.raises(ValueError, match="SMTP_HOST"):
        notify.from_config({"NOTIFY_SENDERS": "smtp"}, str(tmp_path))


def test_console_sender_prints():
    stream = io.StringIO()
    notify.ConsoleSender(stream).send(notify.Notification("lan", None, "Chủ đề", "Nội dung"))
    assert "lan: Chủ đề" in stream.getvalue() and "Nội dung" in stream.getvalue()


def test_smtp_sender_uses_the_configured_server(monkeypatch, tmp_path):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            sent.append(("starttls",))

        def login(self, username, password):
            sent.append(("login", username, password))

        def send_message(self, message):
            sent.append(("send", message["To"], message["Subject"]))

    monkeypatch.setattr(notify.smtplib, "SMTP", FakeSMTP)
    notifier = notify.from_config({
        "NOTIFY_SENDERS": "smtp, console", "SMTP_HOST": "mail.mttq.test", "SMTP_PORT": 2525,
        "SMTP_USERNAME": "tinbao", "SMTP_PASSWORD": "pw", "NOTIFY_FROM": "tinbao@mttq.test",
    }, str(tmp_path))
    smtp = notifier.senders[0]
    assert smtp.send(notify.Notification("lan", "lan@mttq.test", "Chủ đề", "Nội dung"))
    assert not smtp.send(notify.Notification("hoa", None, "Chủ đề", "Nội dung"))  # no address
    assert sent == [("connect", "mail.mttq.test", 2525), ("starttls",),
                    ("login", "tinbao", "pw"), ("send", "lan@mttq.test", "Chủ đề")]
