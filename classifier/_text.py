"""Text helpers of the classifier: the model's input form, offsets back to the input, language.

* :func:`model_text` is what the lexical model sees: :func:`~classifier.normalize.normalize`
  then :func:`~classifier.normalize.fold`. Accented and unaccented ("khong dau") versions of a
  report give the same string, which is why the lexical model scores both alike. (Spelling out
  abbreviations first changed no figure beyond noise and tripled the time per report; see
  docs/classifier.md.)
* :func:`nfc_to_input_offsets` maps positions in ``unicodedata.normalize("NFC", text)`` (where the
  crime lexicon reports its evidence) back to positions in ``text`` as the user sent it, so
  evidence spans index the ORIGINAL input even when it was decomposed (NFD) or mixed.
* :func:`vietnamese_share` estimates whether a text is Vietnamese at all (for ``needs_review``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from classifier.normalize import fold, normalize


def model_text(text: str) -> str:
    """The lexical model's view of a report: normalised, then folded (lowercase, no marks)."""
    return fold(normalize(text or ""))


def strip_marks(text: str) -> str:
    """``text`` without Vietnamese marks but with its capitals ("Nhận HỐI LỘ" → "Nhan HOI LO").

    What a person typing without diacritics would have written; used to give the optional encoder
    unaccented copies of the training reports. Works on NFC text (fold is then 1:1).
    """
    text = unicodedata.normalize("NFC", text)
    folded = fold(text)
    if len(folded) != len(text):  # pragma: no cover - NFC text without format characters
        return folded
    return "".join(f.upper() if c.isupper() else f for c, f in zip(text, folded, strict=True))


def nfc_to_input_offsets(text: str) -> list[int]:
    """``m`` with ``len(m) == len(nfc) + 1``: NFC position ``i`` is input position ``m[i]``.

    The input is cut into runs that each start at a character with canonical combining class 0
    (a base letter and the marks that follow it); each run is normalised on its own and all its
    NFC characters map to the run's start. A span ``[i, j)`` of the NFC text therefore maps to
    ``text[m[i]:m[j]]``, the whole runs it touches: a span never splits a letter from its marks.
    Two runs are merged when they compose with each other (Hangul jamo); should the pieces still
    not reproduce the NFC of the whole text, the whole text is one run. Linear in the length.
    """
    nfc = unicodedata.normalize("NFC", text)
    if nfc == text:
        return list(range(len(text) + 1))
    starts = [i for i, ch in enumerate(text) if i == 0 or unicodedata.combining(ch) == 0]
    starts.append(len(text))
    runs: list[tuple[int, int, str]] = []  # (start, end, NFC of text[start:end])
    for a, b in zip(starts, starts[1:], strict=False):
        piece = unicodedata.normalize("NFC", text[a:b])
        if runs:
            ra, _, rpiece = runs[-1]
            merged = unicodedata.normalize("NFC", text[ra:b])
            if merged != rpiece + piece:  # this run composes with the previous one
                runs[-1] = (ra, b, merged)
                continue
        runs.append((a, b, piece))
    if "".join(piece for _, _, piece in runs) != nfc:  # pragma: no cover - defensive
        runs = [(0, len(text), nfc)]
    mapping: list[int] = []
    for a, _, piece in runs:
        mapping.extend([a] * len(piece))
    mapping.append(len(text))
    return mapping


# --------------------------------------------------------------------------- language check
# A folded Vietnamese syllable: optional onset, a vowel nucleus, optional coda. English or
# French words mostly fail it ("hello", "thank", "please", "bonjour", "visa"); short words that
# happen to fit ("to", "an", "my") are why the decision uses a share, not single words.
_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
_NUCLEUS = (
    r"(?:uye|uya|uyu|oai|oay|oeo|uay|uoi|uou|ieu|yeu|uoi|ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|"
    r"oo|ua|ue|ui|uo|uu|uy|ya|ye|a|e|i|o|u|y)"
)
_CODA = r"(?:ch|ng|nh|[cmnpt])?"
_SYLLABLE_RE = re.compile(rf"{_ONSET}{_NUCLEUS}{_CODA}")
_WORD_RE = re.compile(r"[^\W\d_]+")
# Marks that Vietnamese uses: tones (grave, acute, hook, tilde, dot below) and the hat, horn and
# breve; a word with any other mark (French "ç", "è" is fine, German "ü", "ß"…) is not Vietnamese.
_VI_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323\u0302\u031b\u0306")


@lru_cache(maxsize=65536)
def _vietnamese_word(word: str) -> bool:
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
    if any(unicodedata.combining(c) and c not in _VI_MARKS for c in decomposed):
        return False
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    if not base.isascii():
        return False
    return _SYLLABLE_RE.fullmatch(base) is not None


def vietnamese_share(text: str) -> tuple[float, int]:
    """``(share, letters)``: share of the text's words that can be Vietnamese syllables.

    ``letters`` counts the letters of all words, any script (0 for emoji, digits, punctuation).
    Words in other scripts (Chinese, Khmer, Korean…) count as non-Vietnamese.
    """
    words = _WORD_RE.findall(text or "")
    if not words:
        return 0.0, 0
    letters = sum(len(w) for w in words)
    good = sum(1 for w in words if _vietnamese_word(w))
    return good / len(words), letters
