"""Sending notifications to staff: pluggable senders chosen by configuration.

``TINBAO_NOTIFY_SENDERS`` lists them, comma-separated: ``file`` (the default: one ``.eml`` file
per message in ``instance/outbox/``, mode 0600), ``console`` (printed) and ``smtp`` (the
``TINBAO_SMTP_*`` settings). Each message goes to every sender listed.

What is sent must never identify the reporter or quote the report: callers put in only case
numbers, stages, dates and links (portal/deadlines/reminders.py).
"""

import os
import smtplib
import sys
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from portal.timeutil import utcnow


@dataclass(frozen=True)
class Notification:
    """One message to one staff member."""

    username: str
    email: str | None
    subject: str
    body: str
    # Idempotency key (letters and digits), the same whenever the same message is sent again
    # (a job retried after a crash): the file sender writes it once, and it is the message's
    # Message-ID, by which mail clients recognise a second copy.
    key: str | None = None


def as_email(notification: Notification, sender_address: str, when: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_address
    message["To"] = notification.email or f"{notification.username}@localhost"
    message["Subject"] = notification.subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = (f"<{notification.key}@tinbao.local>" if notification.key
                             else make_msgid(domain="tinbao.local"))
    message.set_content(notification.body)
    return message


class ConsoleSender:
    """Prints each message (for development, or a cron job whose output is mailed)."""

    def __init__(self, stream=None):
        self.stream = stream

    def send(self, notification: Notification) -> None:
        stream = self.stream or sys.stdout
        stream.write(f"--- {notification.username}: {notification.subject}\n"
                     f"{notification.body}\n")


class FileSender:
    """Writes each message as an ``.eml`` file in ``folder`` (``instance/outbox/``)."""

    def __init__(self, folder: str | Path, sender_address: str = "tinbao@localhost"):
        self.folder = Path(folder)
        self.sender_address = sender_address

    def send(self, notification: Notification) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        when = utcnow()
        stamp = when.strftime("%Y%m%dT%H%M%S%f")
        if notification.key:
            # Named by the key, so a message sent again is found instead of written twice.
            if not notification.key.isalnum():
                raise ValueError("notification key must be letters and digits")
            stamp = notification.key
        path = self.folder / f"{stamp}-{notification.username}.eml"
        data = as_email(notification, self.sender_address, when).as_bytes()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if notification.key:
                return path
            raise
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path


class SMTPSender:
    """Sends through an SMTP server (STARTTLS unless told otherwise). Staff without an e-mail
    address are skipped: the other senders still record their message."""

    def __init__(self, host: str, port: int = 587, *, username: str | None = None,
                 password: str | None = None, sender_address: str = "tinbao@localhost",
                 starttls: bool = True, timeout: float = 30):
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.sender_address, self.starttls, self.timeout = sender_address, starttls, timeout

    def send(self, notification: Notification) -> bool:
        if not notification.email:
            return False
        message = as_email(notification, self.sender_address, utcnow())
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            if self.starttls:
                server.starttls()
            if self.username:
                server.login(self.username, self.password or "")
            server.send_message(message)
        return True


class Notifier:
    """Sends one notification through every configured sender."""

    def __init__(self, senders: list):
        self.senders = senders

    def send(self, notification: Notification) -> None:
        for sender in self.senders:
            sender.send(notification)


def from_config(config: dict, instance_path: str) -> Notifier:
    """The senders ``NOTIFY_SENDERS`` names, built from the configuration."""
    senders = []
    address = config.get("NOTIFY_FROM") or "tinbao@localhost"
    for name in (config.get("NOTIFY_SENDERS") or "file").split(","):
        name = name.strip()
        if name == "console":
            senders.append(ConsoleSender())
        elif name == "file":
            folder = config.get("NOTIFY_OUTBOX") or os.path.join(instance_path, "outbox")
            senders.append(FileSender(folder, address))
        elif name == "smtp":
            if not config.get("SMTP_HOST"):
                raise ValueError("TINBAO_NOTIFY_SENDERS has smtp but TINBAO_SMTP_HOST is empty")
            senders.append(SMTPSender(
                config["SMTP_HOST"], int(config.get("SMTP_PORT") or 587),
                username=config.get("SMTP_USERNAME"), password=config.get("SMTP_PASSWORD"),
                sender_address=address, starttls=config.get("SMTP_STARTTLS", True)))
        elif name:
            raise ValueError(f"unknown notification sender {name!r} (console, file, smtp)")
    return Notifier(senders)


def get_notifier(app) -> Notifier:
    """The application's notifier (built once from its configuration; tests may set
    ``app.extensions["tinbao.notifier"]``)."""
    if "tinbao.notifier" not in app.extensions:
        app.extensions["tinbao.notifier"] = from_config(app.config, app.instance_path)
    return app.extensions["tinbao.notifier"]
