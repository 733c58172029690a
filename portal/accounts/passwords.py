"""Password strength rules for staff accounts.

One function, :func:`password_problems`, used by every place a password is set: ``create_user``
(the ``users create`` command and the admin form) and the "change password" page.

We ship a list of about a thousand common passwords (``portal/data/common-passwords.txt``)
instead of depending on zxcvbn: the rules below are short, explainable to staff in one
sentence each, and need no extra package on an air-gapped install.
"""

import string
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from portal.textfold import fold

MIN_LENGTH = 12
MAX_LENGTH = 256
# Fewer distinct characters than this ("aaaaaaaaaaaa", "121212121212") is a pattern, not a
# password.
MIN_DISTINCT_CHARACTERS = 5
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
_EDGE_CHARACTERS = string.digits + string.punctuation + string.whitespace


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, casefolded."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
    )


def _variants(password: str) -> set[str]:
    """The forms under which a password is looked up in the common list."""
    lowered = password.strip().casefold()
    folded = fold(lowered)  # "mậtkhẩu" is as weak as "matkhau"
    variants = {lowered, folded}
    # "Password2024!" and "!!matkhau123" are the listed word with decoration at the ends.
    variants |= {v.strip(_EDGE_CHARACTERS) for v in (lowered, folded)}
    variants |= {v.replace(" ", "") for v in set(variants)}
    return {v for v in variants if v}


def password_problems(password: str, username: str = "") -> list[str]:
    """Why ``password`` is not acceptable for ``username`` (an empty list when it is).

    Rules: at least 12 characters, not a common password (also with digits and symbols
    stripped from its ends, and with diacritics folded), at least 5 distinct characters, and
    not containing the username.
    """
    password = password or ""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_l("Mật khẩu cần ít nhất %(n)d ký tự.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_l("Mật khẩu dài quá %(n)d ký tự.", n=MAX_LENGTH))
    if _variants(password) & common_passwords():
        problems.append(_l("Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác."))
    elif len(set(password.casefold())) < MIN_DISTINCT_CHARACTERS:
        problems.append(_l("Mật khẩu lặp lại quá ít ký tự khác nhau."))
    name = (username or "").strip().casefold()
    if name and (name in password.casefold() or fold(name) in fold(password.casefold())):
        problems.append(_l("Mật khẩu không được chứa tên đăng nhập."))
    return [str(problem) for problem in problems]
