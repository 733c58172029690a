"""Diacritic folding for accent-insensitive search.

Delegates to the classifier's normaliser so that search and classification fold text the
same way (``đ`` → ``d``, tone and vowel marks removed, lower case).
"""

from classifier.normalize import fold as _fold


def fold(text: str) -> str:
    """Lower-case, diacritic-free form of ``text``."""
    return _fold(text or "").lower()
