"""Honeypot and hashcash-style proof of work (SHA-256 with leading zero bits).

A challenge is a random id and a difficulty signed with the app's secret (itsdangerous, its own
salt) and timestamped, so the server keeps no state until a solution is spent. A solution is
``"<challenge>:<nonce>"`` where ``SHA-256("<challenge>:<nonce>")`` starts with ``difficulty``
zero bits. Each challenge can be spent once: its id is counted in the rate limiter's storage
(process memory or Redis), which forgets it when the challenge would have expired anyway.
"""

import hashlib
import re
import secrets

from itsdangerous import BadData, URLSafeTimedSerializer

# The hidden field bots fill; "website" is a name form-filling bots rarely leave empty. The JSON
# API treats an unknown "website" property the same way (portal/api/openapi.json says so).
HONEYPOT_FIELD = "website"
POW_FIELD = "pow"

_SALT = "tinbao proof-of-work challenge v1"
_NONCE_RE = re.compile(r"^[0-9]{1,16}$")


def honeypot_filled(value) -> bool:
    """True when the field no person sees was filled in (any value but absent or blank)."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    return True


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def new_challenge(secret_key: str, difficulty: int, max_age: int) -> dict:
    """A fresh challenge for a client: ``{"challenge", "difficulty", "expires_in"}``."""
    token = _serializer(secret_key).dumps({"id": secrets.token_hex(16), "d": difficulty})
    return {"challenge": token, "difficulty": difficulty, "expires_in": max_age}


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits ``digest`` starts with."""
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def solution_digest(challenge: str, nonce: str) -> bytes:
    return hashlib.sha256(f"{challenge}:{nonce}".encode("ascii")).digest()


def check_solution(solution, *, secret_key: str, max_age: int, min_difficulty: int) -> str | None:
    """The challenge id if ``solution`` solves an unexpired challenge of ours, else None.

    A challenge signed with a difficulty below today's setting does not count.
    """
    if not isinstance(solution, str) or len(solution) > 512:
        return None
    challenge, sep, nonce = solution.rpartition(":")
    if not sep or not _NONCE_RE.match(nonce):
        return None
    try:
        payload = _serializer(secret_key).loads(challenge, max_age=max_age)
    except BadData:
        return None
    if not isinstance(payload, dict):
        return None
    difficulty, challenge_id = payload.get("d"), payload.get("id")
    if not isinstance(difficulty, int) or difficulty < min_difficulty:
        return None
    if not isinstance(challenge_id, str):
        return None
    if leading_zero_bits(solution_digest(challenge, nonce)) < difficulty:
        return None
    return challenge_id


def spend(storage, challenge_id: str, max_age: int) -> bool:
    """Mark a challenge as used; False if it had been used already (a replay)."""
    return storage.incr(f"tinbao-pow-spent/{challenge_id}", max_age) == 1
