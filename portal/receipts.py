"""Receipt codes: the reporter's only key to their case.

A code is 20 Crockford base-32 characters (100 bits), shown as four groups of five so it is
easy to copy and write down. Only an HMAC of the normalised code is stored, so a database dump
does not reveal codes and lookup is a unique-index hit.
"""

import hashlib
import hmac
import re
import secrets

# Crockford's alphabet leaves out I, L, O and U, which people confuse with 1, 1, 0 and V.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 20
GROUP = 5
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_NOT_CODE = re.compile(r"[\s\-–—_.]")


def new_code() -> str:
    """A fresh code, e.g. ``7KQ2M-XR4TD-9HBNP-3WFZA`` (100 bits of entropy)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalise(code: str) -> str | None:
    """Canonical form of a typed code, or None if it cannot be a code."""
    cleaned = _NOT_CODE.sub("", (code or "").upper()).translate(_CONFUSABLE)
    if len(cleaned) != CODE_LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def code_hash(code: str, secret_key: str) -> str | None:
    """Keyed hash of a typed code (None if it is malformed)."""
    canonical = normalise(code)
    if canonical is None:
        return None
    # A key derived for this purpose only, so the hash reveals nothing about SECRET_KEY's
    # other uses (session signing, CSRF).
    key = hmac.new(secret_key.encode(), b"tinbao receipt code v1", hashlib.sha256).digest()
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
