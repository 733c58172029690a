"""Finding the rules file's phrases in a report, with or without diacritics.

Reports come typed with diacritics, without them ("khong dau") or a mix, so phrases are matched
on the folded text (``classifier.normalize.fold``: lower case, marks removed, đ → d), where
"bộ đội" and "bo doi" are the same string. Folding also merges different words ("bỏ đói" folds
to "bo doi" too), so where the report itself carries marks we check them: each word of the
match that has a mark must have the phrase's letters and tone — compared per word as (letters,
tone), so the old and new tone placements ("hoà"/"hòa") still agree. Words typed without any
mark always agree: we cannot tell them apart, and for routing a false hit that the officer sees
in the reasoning is better than a miss.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from classifier.normalize import fold, fold_with_offsets, normalize

_WORD_CHAR = re.compile(r"[0-9a-z]")

# The five Vietnamese tone marks (combining forms). Vowel marks (ă â ê ô ơ ư) and đ stay part
# of the letters.
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def _word_key(word: str) -> tuple[str, frozenset]:
    """A word as (letters without tone, its tone marks): equal for "hoà" and "hòa"."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = frozenset(c for c in decomposed if c in TONE_MARKS)
    letters = "".join(c for c in decomposed if c not in TONE_MARKS)
    return unicodedata.normalize("NFC", letters), tones


def _is_plain(word: str) -> bool:
    """True for a word typed without any mark (nothing to check it against)."""
    return fold(word) == word.lower()


@dataclass(frozen=True)
class Phrase:
    """One phrase of a list, as written in the rules file."""

    text: str
    pattern: re.Pattern = field(compare=False, repr=False)
    keys: tuple = field(compare=False, repr=False)

    @classmethod
    def compile(cls, text: str) -> "Phrase":
        words = normalize(text).lower().split()
        folded = [fold(word) for word in words]
        if not any(c.isalnum() for c in "".join(folded)):
            raise ValueError(f"phrase {text!r} has no letters")
        # Whole words only: "thôn" must not match inside "thông". The start is checked in
        # ReportText._hits: a pattern that begins with its letters is searched much faster.
        pattern = re.compile(r"\s+".join(map(re.escape, folded)) + r"(?![0-9a-z])")
        return cls(text=text, pattern=pattern, keys=tuple(_word_key(w) for w in words))

    def agrees(self, span: str) -> bool:
        """Whether the marks the report put on ``span`` (a folded match) are this phrase's."""
        words = span.split()
        if len(words) != len(self.keys):
            return True  # cannot line words up (unusual spacing or marks); trust the fold
        return all(_is_plain(word) or _word_key(word) == key
                   for word, key in zip(words, self.keys, strict=True))


@dataclass(frozen=True)
class Hit:
    """Where a phrase was found: the phrase, its position and the words the report used."""

    phrase: str
    start: int
    end: int
    found: str


class ReportText:
    """A report's text prepared once for all the phrase lists (normalised, folded, offsets)."""

    def __init__(self, text: str):
        self.text = normalize(text or "")
        self.folded, self.offsets = fold_with_offsets(self.text)
        # Several facts look for the same phrases (departments, bodies, places): once each.
        self._found: dict[Phrase, list[Hit]] = {}

    @cached_property
    def words(self) -> int:
        return len(self.text.split())

    @cached_property
    def has_digit(self) -> bool:
        return any(c.isdigit() for c in self.text)

    def _hits(self, phrase: Phrase) -> list[Hit]:
        if phrase not in self._found:
            hits = []
            for match in phrase.pattern.finditer(self.folded):
                if match.start() and _WORD_CHAR.match(self.folded, match.start() - 1):
                    continue  # inside a longer word
                start, end = self.offsets[match.start()], self.offsets[match.end()]
                found = self.text[start:end]
                if phrase.agrees(found):
                    hits.append(Hit(phrase.text, start, end, found))
            self._found[phrase] = hits
        return self._found[phrase]


@dataclass(frozen=True)
class PhraseList:
    """A list of phrases and the phrases that cancel them ("đi bộ đội" is not a soldier)."""

    name: str
    phrases: tuple[Phrase, ...]
    exceptions: tuple[Phrase, ...] = ()

    @classmethod
    def compile(cls, name: str, phrases, exceptions=()) -> "PhraseList":
        return cls(name, tuple(Phrase.compile(p) for p in phrases),
                   tuple(Phrase.compile(p) for p in exceptions))

    def with_phrases(self, extra) -> "PhraseList":
        """This list plus ``extra`` phrases (e.g. the departments' names)."""
        return PhraseList(self.name, self.phrases + tuple(extra), self.exceptions)

    def hits(self, text: ReportText) -> list[Hit]:
        """Every hit in ``text``, in reading order, without those inside an exception."""
        cancelled = [(h.start, h.end) for p in self.exceptions for h in text._hits(p)]
        found = [
            hit for phrase in self.phrases for hit in text._hits(phrase)
            if not any(start < hit.end and hit.start < end for start, end in cancelled)
        ]
        return sorted(found, key=lambda hit: (hit.start, -hit.end))

    def first(self, text: ReportText) -> Hit | None:
        """The earliest hit (the longest phrase when two start at the same place)."""
        found = self.hits(text)
        return found[0] if found else None
