"""Envelope encryption of a report: what the database holds is ciphertext only.

Each report has two random data keys:

* the **content data key** encrypts the report's text, the people involved, the result, the
  reporter's affiliation, messages, internal notes, attachment names and files, the
  classifier's answer, the redaction and disclosed identities. It is stored wrapped with the
  server's content key (``reports.content_key_wrapped`` + ``content_key_id``), so staff pages
  can show the text while a database dump or a copy of the upload folder shows nothing;
* the **identity data key** encrypts the reporter's name, phone, e-mail, address and ID
  number. It is sealed to the identity custodian's public key
  (``reporter_identities.identity_key_sealed``): only the custodian's private key — kept in a
  file or the environment, never in the database — opens it.

Models declare protected fields with :class:`Encrypted` (``text = Encrypted("text_encrypted",
"report.text")``): reading decrypts, assigning keeps the plaintext in memory and a session hook
encrypts it before every flush, so no code path can write the plaintext to the database (there
is no plaintext column to write it to).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal.protection.crypto import KeyRing, decrypt, encrypt, random_key

_MISSING = object()


def keyring() -> KeyRing:
    """The keys of the running application."""
    return current_app.extensions["tinbao.keys"]


def content_data_key(report) -> bytes:
    """The report's content data key: unwrapped (and cached for this object), or created for a
    new report."""
    info = inspect(report).info
    key = info.get("content_data_key")
    if key is not None:
        return key
    if report.content_key_wrapped is None:
        key = random_key()
        report.content_key_wrapped, report.content_key_id = keyring().wrap_data_key(key)
    else:
        key = keyring().unwrap_data_key(report.content_key_wrapped, report.content_key_id)
    info["content_data_key"] = key
    return key


def _report_of(obj):
    from portal.reports.models import Report

    return obj if isinstance(obj, Report) else obj.report


class Encrypted:
    """A model attribute whose value is stored encrypted in ``column`` (a LargeBinary).

    ``kind`` is ``"text"`` (str) or ``"json"`` (any JSON value). The key is the content data key
    of the report the object belongs to (``obj.report``, or the object itself for a Report).
    """

    def __init__(self, column: str, purpose: str, *, kind: str = "text"):
        self.column = column
        self.purpose = purpose
        self.kind = kind
        self.name = column

    def __set_name__(self, owner, name):
        self.name = name

    def _encode(self, value) -> bytes:
        if self.kind == "json":
            return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return value.encode("utf-8")

    def _decode(self, raw: bytes):
        text = raw.decode("utf-8")
        return json.loads(text) if self.kind == "json" else text

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        info = inspect(obj).info
        pending = info.get(("pending", self.name), _MISSING)
        if pending is not _MISSING:
            return pending
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        blob = bytes(blob)
        cached = info.get(("plain", self.name))
        if cached is not None and cached[0] == blob:
            return cached[1]
        value = self._decode(decrypt(content_data_key(_report_of(obj)), blob, self.purpose))
        info[("plain", self.name)] = (blob, value)
        return value

    def __set__(self, obj, value):
        info = inspect(obj).info
        info[("pending", self.name)] = value
        # Encrypt at once when the report is known; otherwise before the flush.
        if _report_of(obj) is not None:
            self.seal(obj)

    def seal(self, obj) -> None:
        """Encrypt the pending plaintext into the column."""
        info = inspect(obj).info
        value = info.pop(("pending", self.name), _MISSING)
        if value is _MISSING:
            return
        report = _report_of(obj)
        if report is None:
            info[("pending", self.name)] = value
            raise RuntimeError(f"{type(obj).__name__}.{self.name}: no report to encrypt it for")
        if value is None:
            setattr(obj, self.column, None)
            info.pop(("plain", self.name), None)
            return
        blob = encrypt(content_data_key(report), self._encode(value), self.purpose)
        setattr(obj, self.column, blob)
        info[("plain", self.name)] = (blob, value)


def encrypted_fields(cls) -> list[Encrypted]:
    """The :class:`Encrypted` attributes of a model class."""
    cached = cls.__dict__.get("_tinbao_encrypted_fields")
    if cached is None:
        cached = [
            value for klass in reversed(cls.__mro__) for value in vars(klass).values()
            if isinstance(value, Encrypted)
        ]
        cls._tinbao_encrypted_fields = cached
    return cached


def seal_pending(obj) -> None:
    """Encrypt whatever plaintext of ``obj`` is still waiting (e.g. a Message built before it
    was attached to its report)."""
    for field in encrypted_fields(type(obj)):
        if ("pending", field.name) in inspect(obj).info:
            field.seal(obj)


def _seal_pending(session, flush_context, instances) -> None:
    """Before each flush: :func:`seal_pending` on every new or changed object."""
    for obj in list(session.new) + list(session.dirty):
        seal_pending(obj)


_installed = False


def install() -> None:
    """Register the before-flush hook on every session (once per process)."""
    global _installed
    if not _installed:
        event.listen(Session, "before_flush", _seal_pending)
        _installed = True


# --- identity ------------------------------------------------------------------------------

IDENTITY_PURPOSE = "identity.fields"


def seal_identity(row, values: dict) -> None:
    """Encrypt ``values`` (name, phone, e-mail, address, ID number) into ``row`` under a fresh
    identity data key sealed to the custodian's public key."""
    key = random_key()
    row.identity_key_sealed, row.custodian_key_id = keyring().seal_identity_key(key)
    row.fields_encrypted = encrypt(key, json.dumps(values, ensure_ascii=False).encode("utf-8"),
                                   IDENTITY_PURPOSE)


def open_identity(row) -> dict:
    """The identity fields; needs the custodian's private key (raises
    :class:`~portal.protection.crypto.KeyUnavailable` where it is not).

    Callers are the custodian's audited actions and the automatic masking of the reporter's own
    identity; nothing else should call this.
    """
    key = keyring().open_identity_key(row.identity_key_sealed, row.custodian_key_id)
    return json.loads(decrypt(key, row.fields_encrypted, IDENTITY_PURPOSE))


# --- attachments ---------------------------------------------------------------------------

FILE_PURPOSE = "attachment.file"


def encrypt_file(report, data: bytes) -> bytes:
    """The bytes written to the upload folder for an attachment of ``report``."""
    return encrypt(content_data_key(report), data, FILE_PURPOSE)


def decrypt_file(report, blob: bytes) -> bytes:
    return decrypt(content_data_key(report), blob, FILE_PURPOSE)


def file_digest(report, data: bytes) -> str:
    """HMAC-SHA256 of an attachment under the report's data key.

    A plain SHA-256 would let anyone holding a copy of a document check whether it was sent
    to the portal; keyed, the digest only serves to check the file against its own report.
    """
    return hmac.new(content_data_key(report), data, hashlib.sha256).hexdigest()
