"""TOTP two-factor codes (RFC 6238, via pyotp) and the encryption of their secrets.

The database never holds a TOTP secret in clear. Each secret is sealed with AES-256-GCM under
a key derived from the application's ``SECRET_KEY`` with HKDF-SHA256 (its own ``info`` label,
so the key is used for nothing else), and the user's id is bound in as associated data: a
sealed secret copied onto another user's row does not open. A database dump alone therefore
yields no usable second factor. Changing ``SECRET_KEY`` makes every sealed secret unreadable:
staff with two-factor must then be reset (``flask --app portal users reset-2fa``) and enrol
again — see docs/security.md.

This module is plain functions with no database access; the account services call them.
"""

import base64
import binascii
import hmac
import os
from datetime import datetime

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ISSUER = "Tin báo"
DIGITS = 6
INTERVAL = 30
# Codes from one step before or after the current one are accepted: phone clocks drift.
VALID_WINDOW = 1
_FORMAT = "v1"
_HKDF_INFO = b"tinbao/staff-totp-secret/v1"
_NONCE_BYTES = 12


class SecretUnreadable(Exception):
    """A stored TOTP secret does not decrypt (wrong SECRET_KEY, or moved to another row)."""


def _key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=_HKDF_INFO).derive(secret_key.encode("utf-8"))


def _associated_data(user_id: int) -> bytes:
    return f"users/{user_id}/totp_secret".encode("ascii")


def seal_secret(secret: str, *, user_id: int, secret_key: str) -> str:
    """Encrypt a base-32 TOTP secret for storage in ``users.totp_secret_encrypted``."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, secret.encode("ascii"),
                                             _associated_data(user_id))
    return f"{_FORMAT}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def open_secret(stored: str, *, user_id: int, secret_key: str) -> str:
    """Decrypt what :func:`seal_secret` stored; :class:`SecretUnreadable` if it cannot."""
    version, _, payload = (stored or "").partition(":")
    if version != _FORMAT:
        raise SecretUnreadable("unknown format")
    try:
        raw = base64.urlsafe_b64decode(payload.encode("ascii"))
        plain = AESGCM(_key(secret_key)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:],
                                                 _associated_data(user_id))
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise SecretUnreadable("cannot decrypt") from exc
    return plain.decode("ascii")


def new_secret() -> str:
    """A fresh 160-bit base-32 secret (what authenticator apps expect)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/…`` address an authenticator app reads (from the QR code or typed)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=username, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg_data_uri(uri: str) -> str | None:
    """An inline SVG QR code (``data:`` URI, allowed by our CSP), or None without segno."""
    try:
        import segno
    except ImportError:  # the secret is still shown as text and as the otpauth:// address
        return None
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def normalise_code(code: str) -> str:
    """Digits only: people type ``123 456`` or paste ``123-456``."""
    return "".join(ch for ch in (code or "") if ch.isdigit())


def timestep(when: datetime) -> int:
    """The TOTP time step that ``when`` falls in."""
    return int(when.timestamp()) // INTERVAL


def matching_timestep(secret: str, code: str, *, now: datetime,
                      last_used: int | None) -> int | None:
    """The time step whose code ``code`` is, within the accepted window, or None.

    A step at or before ``last_used`` never matches, so a code (even one seen over a
    shoulder or replayed from a proxy log) works only once.
    """
    code = normalise_code(code)
    if len(code) != DIGITS:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    current = timestep(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_used is not None and step <= last_used:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
