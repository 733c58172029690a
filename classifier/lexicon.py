"""Penal-code lexicon: finds phrases that suggest a crime and the articles they point to.

The lexicon lives in ``classifier/data/crime_lexicon.yaml`` (its header documents the pattern
syntax). Matching is done on the diacritic-folded text (:func:`classifier.normalize.fold`), so
"nhận hối lộ", "nhan hoi lo", "NHẬN HỐI LỘ" and NFD input all match the same pattern, and every
match is mapped back to the text as given (after NFC only) for the evidence spans.

Folding makes some different words look the same ("bằng giả" / "bảng giá", "lô đề" / "lộ đề",
"đâm" / "đám"). Three mechanisms keep precision without hurting unaccented text:

* **accent check** – in a text typed with diacritics (60% or more of its words carry a mark),
  each syllable must be written with exactly the pattern's marks ("không" is not "khống", "đã"
  is not "đá"). In a text typed without (or with few) diacritics a syllable may carry fewer
  marks than the pattern's but no other ones ("hoi lo", "hôi lộ" match "hối lộ"; "hỏi lộ" does
  not). Tones are compared per syllable, so "hoà"/"hòa" and "tuý"/"túy" are the same. Words
  written ``=word`` in a pattern (or patterns with ``exact: true``) must always be exact.
* **requires_any** – a weak or ambiguous cue counts only if one of the listed context phrases is
  within ``window`` characters (``requires_when: unaccented`` asks for the context only when the
  match was not written with exactly the pattern's diacritics).
* **guards** – phrases that cancel any match of the article they overlap ("chém gió", "đánh giá",
  "cảnh báo lừa đảo").

Speed: patterns are indexed by their first one or two words; at each word of a text one combined
regex tells whether any pattern starting there can match, so a 100-word report costs well under
a millisecond once the regexes are compiled (they compile lazily, on first use).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from classifier.normalize import fold, fold_with_offsets

__all__ = ["CrimeLexicon", "LexiconError", "DEFAULT_LEXICON_PATH"]

DEFAULT_LEXICON_PATH = Path(__file__).with_name("data") / "crime_lexicon.yaml"

# The regexes below run on folded text, where every space is " ", quotes are '"' or "'" and dashes
# are "-" (see classifier.normalize.fold).
# Separator between two words of a pattern: spaces, quotes, brackets, dashes, slashes. Other
# punctuation ("." "," ";" ":" "!" "?" …) ends a phrase: a pattern never runs across a clause.
_SEP = r"[ \"'()\[\]/*&+=~-]+"
# One word in a gap: letters/digits; numbers like 50.000 or 1,5 count as one word.
_WORD = r"\w+(?:[.,]\w+)*"
# "#": a number, possibly glued to a short unit or "%" ("50", "50.000", "1,5", "50tr", "5%").
_NUMBER = r"\d+(?:[.,]\d+)*(?:%|[a-z]{1,5}(?!\w))?"
# "#$": an amount of money: a number with a money unit, glued or as the next word
# ("50tr", "500k", "1tr5", "5%", "20 triệu", "300 nghìn", "2 tỷ", "3 cây vàng").
_MONEY = (
    r"\d+(?:[.,]\d+)*(?:%|(?:k|tr|ty|m|d)(?:\d{1,3})?(?!\w)"
    r"|[ ]?(?:trieu|tr|nghin|ngan|ty|ti|dong|d|usd|do|cu|lit|cay vang|chi vang|phan tram)(?!\w))"
)
_LEFT = r"(?<!\w)"
_RIGHT = r"(?!\w)"
_TOKEN_RE = re.compile(r"\w+")
_SPLIT_RE = re.compile(r"(\W+)")
_GAP_RE = re.compile(r"\{(\d+),(\d+)\}")

_WEIGHT_NAMES = {"strong": 0.9, "medium": 0.6, "weak": 0.3}


class LexiconError(ValueError):
    """The lexicon YAML is malformed (message names the article and pattern)."""


# --------------------------------------------------------------------------------------------
# diacritic marks per character
# --------------------------------------------------------------------------------------------


_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền sắc ngã hỏi nặng


@lru_cache(maxsize=4096)
def _char_marks(ch: str) -> tuple[frozenset[str], frozenset[str]]:
    """(letter marks, tone marks) of one character: "ấ" → ({circumflex}, {acute})."""
    low = ch.lower()
    if low == "đ":
        return frozenset({"stroke"}), frozenset()
    marks = [c for c in unicodedata.normalize("NFD", low)[1:] if unicodedata.combining(c)]
    return (
        frozenset(c for c in marks if c not in _TONE_MARKS),
        frozenset(c for c in marks if c in _TONE_MARKS),
    )


_SylMarks = tuple[tuple[frozenset[str], ...], frozenset[str]]


def _syllable_marks(syllable: str) -> _SylMarks:
    """Letter marks per character and the syllable's tone marks.

    Tones are compared per syllable, not per letter, so the old and new placements ("hoà" /
    "hòa", "tuý" / "túy") are the same syllable.
    """
    letters: list[frozenset[str]] = []
    tones: set[str] = set()
    for c in syllable:
        lm, tm = _char_marks(c)
        letters.append(lm)
        tones |= tm
    return tuple(letters), frozenset(tones)


# --------------------------------------------------------------------------------------------
# pattern compiler
# --------------------------------------------------------------------------------------------


@dataclass
class _Compiled:
    regex: str
    literals: list[tuple[str, _SylMarks, bool]]  # group n+1 -> (accented, marks, exact)
    first_words: set[str] | None  # None: starts with a number (not indexable)
    required: list[frozenset[str]]  # after the first token: one word of each set must occur
    starts: set[tuple[str, str | None]]  # (first word, second word or None if not fixed)


def _split_literal(word: str) -> list[str]:
    """Accented sub-words of a literal, split where the folded form has a non-word character."""
    nfc = unicodedata.normalize("NFC", word)
    folded = fold(nfc)
    if len(folded) != len(nfc):  # pragma: no cover - NFC literals fold 1:1
        raise LexiconError(f"cannot fold literal {word!r}")
    parts: list[str] = []
    for m in _TOKEN_RE.finditer(folded):
        parts.append(nfc[m.start() : m.end()])
    return parts


def _parse(pattern: str) -> list[Any]:
    """Tokens: ("lit", accented, exact) | ("gap", a, b) | ("num",) | ("alt", [[...]], optional)."""
    tokens: list[Any] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            j = pattern.find(")", i)
            if j < 0:
                raise LexiconError(f"unclosed '(' in {pattern!r}")
            inner = pattern[i + 1 : j]
            if "(" in inner:
                raise LexiconError(f"nested groups are not supported: {pattern!r}")
            alts = [a.strip() for a in inner.split("|")]
            optional = any(a == "" for a in alts)
            parsed = [_parse(a) for a in alts if a]
            for alt in parsed:
                if alt[0][0] == "gap" or alt[-1][0] == "gap":
                    raise LexiconError(
                        f"an alternative cannot start or end with a gap: {pattern!r}"
                    )
            if not parsed:
                raise LexiconError(f"empty group in {pattern!r}")
            tokens.append(("alt", parsed, optional))
            i = j + 1
        elif ch == "{":
            m = _GAP_RE.match(pattern, i)
            if not m:
                raise LexiconError(f"bad gap in {pattern!r}: use {{a,b}}")
            a, b = int(m.group(1)), int(m.group(2))
            if a > b or b > 8:
                raise LexiconError(f"bad gap {{{a},{b}}} in {pattern!r} (0 <= a <= b <= 8)")
            tokens.append(("gap", a, b))
            i = m.end()
        elif pattern.startswith("#$", i) and (
            i + 2 == n or pattern[i + 2].isspace() or pattern[i + 2] in ")|"
        ):
            tokens.append(("money",))
            i += 2
        elif ch == "#" and (i + 1 == n or pattern[i + 1].isspace() or pattern[i + 1] in ")|"):
            tokens.append(("num",))
            i += 1
        elif ch in ")|}":
            raise LexiconError(f"unexpected {ch!r} in {pattern!r}")
        else:
            j = i
            while j < n and not pattern[j].isspace() and pattern[j] not in "(){}|":
                j += 1
            word = pattern[i:j]
            exact = word.startswith("=")
            for part in _split_literal(word.lstrip("=")):
                tokens.append(("lit", part, exact))
            i = j
    return tokens


def _compile(pattern: str, *, capture: bool) -> _Compiled:
    tokens = _parse(pattern)
    # A leading optional group can never change whether a pattern matches (a match that starts
    # with it also has a match starting after it), so it is dropped: "(bị|) trộm" = "trộm".
    while tokens and tokens[0][0] == "alt" and tokens[0][2]:
        tokens = tokens[1:]
    if not tokens:
        raise LexiconError(f"empty pattern {pattern!r}")
    if tokens[0][0] == "gap" or tokens[-1][0] == "gap":
        raise LexiconError(f"a pattern cannot start or end with a gap: {pattern!r}")
    literals: list[tuple[str, _SylMarks, bool]] = []

    def lit(accented: str, exact: bool) -> str:
        body = re.escape(fold(accented))
        if capture:
            literals.append((accented, _syllable_marks(accented), exact))
            return f"({body})"
        return body

    def seq(toks: list[Any], leading_sep: bool) -> str:
        out: list[str] = []
        for k, tok in enumerate(toks):
            sep = _SEP if (k > 0 or leading_sep) else ""
            if tok[0] == "lit":
                out.append(sep + lit(tok[1], tok[2]))
            elif tok[0] == "gap":
                # lazy: the shortest gap first (shortest evidence, fewer wrong alternatives)
                out.append(f"(?:{_SEP}{_WORD}){{{tok[1]},{tok[2]}}}?")
            elif tok[0] == "num":
                out.append(sep + _NUMBER)
            elif tok[0] == "money":
                out.append(sep + _MONEY)
            else:
                _, alts, optional = tok
                body = "|".join(seq(a, leading_sep=False) for a in alts)
                if optional:
                    out.append(f"(?:{sep}(?:{body}))?")
                else:
                    out.append(f"{sep}(?:{body})")
        return "".join(out)

    regex = seq(tokens, leading_sep=False) + _RIGHT

    first = tokens[0]
    if first[0] in ("num", "money"):
        return _Compiled(
            regex=regex, literals=literals, first_words=None, required=[], starts=set()
        )
    if first[0] == "lit":
        first_words = {fold(first[1])}
    else:
        first_words = set()
        for alt in first[1]:
            if alt[0][0] != "lit":
                raise LexiconError(f"a first alternative must start with a word: {pattern!r}")
            first_words.add(fold(alt[0][1]))
    return _Compiled(
        regex=regex,
        literals=literals,
        first_words=first_words,
        required=_required(tokens[1:]),
        starts=_starts(tokens),
    )


def _next_words(tokens: list[Any]) -> set[str] | None:
    """The words the token sequence must start with, or None if that is not fixed."""
    if not tokens:
        return None
    tok = tokens[0]
    if tok[0] == "lit":
        return {fold(tok[1])}
    if tok[0] == "alt" and not tok[2]:
        out = set()
        for alt in tok[1]:
            if alt[0][0] != "lit":
                return None
            out.add(fold(alt[0][1]))
        return out
    return None


def _starts(tokens: list[Any]) -> set[tuple[str, str | None]]:
    """(first word, second word) pairs a match can start with; None: second word not fixed."""
    first = tokens[0]
    alts = [[first]] if first[0] == "lit" else first[1]
    after = _next_words(tokens[1:])
    pairs: set[tuple[str, str | None]] = set()
    for alt in alts:
        w1 = fold(alt[0][1])
        if len(alt) >= 2:
            second = _next_words(alt[1:])
            pairs.update((w1, w2) for w2 in second) if second else pairs.add((w1, None))
        elif after:
            pairs.update((w1, w2) for w2 in after)
        else:
            pairs.add((w1, None))
    return pairs


def _required(tokens: list[Any]) -> list[frozenset[str]]:
    """Word sets a text must contain for the pattern to match (a cheap pre-filter)."""
    out: list[frozenset[str]] = []
    for tok in tokens:
        if tok[0] == "lit":
            out.append(frozenset({fold(tok[1])}))
        elif tok[0] == "alt" and not tok[2]:
            firsts = set()
            for alt in tok[1]:
                if alt[0][0] != "lit":
                    break
                firsts.add(fold(alt[0][1]))
            else:
                out.append(frozenset(firsts))
    # Most selective (smallest) sets first: they reject a text soonest.
    return sorted(out, key=len)


# --------------------------------------------------------------------------------------------
# lexicon objects
# --------------------------------------------------------------------------------------------


@dataclass
class _Phrase:
    """A pattern, guard or context phrase; its regexes are compiled on first use."""

    source: str
    regex_src: str  # with one capture group per literal word
    plain_src: str  # the same without groups
    literals: list[tuple[str, _SylMarks, bool]]  # group n+1 -> (accented, marks, exact)
    first_words: set[str]
    required: list[frozenset[str]] = field(default_factory=list)
    starts: set[tuple[str, str | None]] = field(default_factory=set)
    strict: bool = True
    exact: bool = False  # every syllable must be written with exactly its marks
    uid: int = 0
    order: int = 0  # position in the lexicon (deterministic candidate order)
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _search: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @property
    def regex(self) -> re.Pattern[str]:
        """Matches at a word start (callers use ``.match`` at a token start)."""
        if self._regex is None:
            self._regex = re.compile(self.regex_src)
        return self._regex

    @property
    def search(self) -> re.Pattern[str]:
        """The same with a left word boundary, for ``.search`` in a window."""
        if self._search is None:
            self._search = re.compile(_LEFT + self.regex_src)
        return self._search


@dataclass
class _Pattern(_Phrase):
    article: int = 0
    weight: float = 0.9
    requires: list[_Phrase] | None = None
    requires_when: str = "always"  # always | unaccented
    window: int = 80
    guard_ids: frozenset[int] = frozenset()


@dataclass
class _Article:
    number: int
    name: str
    patterns: list[_Pattern] = field(default_factory=list)
    guard_ids: frozenset[int] = frozenset()


@dataclass
class _Match:
    pattern: _Pattern
    start: int  # folded positions
    end: int


class _Text:
    """One text prepared for matching: NFC original, folded form, offsets and accent mode."""

    __slots__ = ("text", "folded", "offsets", "_accented")

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded, self.offsets = fold_with_offsets(text)
        self._accented: bool | None = None

    @property
    def accented(self) -> bool:
        """Typed with diacritics (computed on first use: most matches never need it)."""
        if self._accented is None:
            self._accented = _accent_ratio(self.text, self.folded) >= _ACCENTED_TEXT_RATIO
        return self._accented


def _accent_ratio(text: str, folded: str | None = None) -> float:
    """Share of the words that carry at least one mark (0 for text typed without diacritics)."""
    words = _LETTERS_RE.findall(text.lower())
    if not words:
        return 0.0
    plain = _LETTERS_RE.findall(fold(text) if folded is None else folded)
    if len(plain) != len(words):  # stray marks split words differently: compare word by word
        plain = [fold(w) for w in words]
    marked = sum(1 for w, f in zip(words, plain, strict=True) if w != f)
    return marked / len(words)


_LETTERS_RE = re.compile(r"[^\W\d_]+")
# At or above this share of marked words a text counts as typed with diacritics, and a pattern's
# syllable must then be written with exactly its marks ("không" is not "khống", "Em" is not
# "ém", "đã" is not "đá"). Typical accented Vietnamese is around 0.85, "khong dau" text 0.
_ACCENTED_TEXT_RATIO = 0.6


class CrimeLexicon:
    """Compiled crime lexicon, built with :meth:`from_yaml`.

    Read-only once built and safe to share between threads: regexes are compiled on first use,
    and two threads compiling the same one at once only do the work twice.
    """

    def __init__(self, data: dict[str, Any], *, source: str = "<dict>") -> None:
        self.source = source
        self.version = data.get("version")
        defaults = data.get("defaults") or {}
        self._weights = dict(_WEIGHT_NAMES)
        self._weights.update(data.get("weights") or {})
        default_weight = self._weight(defaults.get("weight", "strong"), "defaults")
        default_window = int(defaults.get("window", 80))
        contexts: dict[str, list[str]] = data.get("contexts") or {}
        guard_sets: dict[str, list[str]] = data.get("guard_sets") or {}

        self.articles: dict[int, _Article] = {}
        self._patterns: list[_Pattern] = []
        self._guards: dict[str, _Phrase] = {}
        context_cache: dict[str, _Phrase] = {}
        counter = itertools.count()

        def expand(items: Iterable[str], named: dict[str, list[str]], where: str) -> list[str]:
            out: list[str] = []
            for item in items:
                if not isinstance(item, str):
                    raise LexiconError(f"{where}: expected a string, got {item!r}")
                if item.startswith("@"):
                    if item[1:] not in named:
                        raise LexiconError(f"{where}: unknown list {item!r}")
                    out.extend(expand(named[item[1:]], named, where))
                else:
                    out.append(item)
            return out

        def phrase(
            text: str, where: str, cls: type[_Phrase] = _Phrase, indexed: bool = True, **kw: Any
        ) -> _Phrase:
            try:
                c = _compile(text, capture=True)
            except LexiconError as exc:
                raise LexiconError(f"{where}: {exc}") from None
            if c.first_words is None and indexed:
                raise LexiconError(f"{where}: only context phrases may start with '#'")
            return cls(
                source=text,
                regex_src=c.regex,
                plain_src=_compile(text, capture=False).regex,
                literals=c.literals,
                first_words=c.first_words or set(),
                required=c.required,
                starts=c.starts,
                order=next(counter),
                **kw,
            )

        def context(items: list[str], where: str) -> list[_Phrase]:
            out = []
            for text in dict.fromkeys(expand(items, contexts, where)):
                if text not in context_cache:
                    context_cache[text] = phrase(text, f"{where}, context {text!r}", indexed=False)
                out.append(context_cache[text])
            return out

        def guard_id(text: str, where: str) -> int:
            if text not in self._guards:
                self._guards[text] = phrase(text, f"{where}, guard {text!r}", uid=len(self._guards))
            return self._guards[text].uid

        raw_articles = data.get("articles")
        if not isinstance(raw_articles, list) or not raw_articles:
            raise LexiconError("the lexicon needs a non-empty 'articles' list")
        for entry in raw_articles:
            number = entry.get("article")
            where = f"article {number}"
            if not isinstance(number, int) or isinstance(number, bool):
                raise LexiconError(f"{where}: 'article' must be an integer")
            if number in self.articles:
                raise LexiconError(f"{where}: listed twice")
            name = entry.get("name")
            if not isinstance(name, str) or not name.strip():
                raise LexiconError(f"{where}: missing name")
            article = _Article(number=number, name=" ".join(name.split()))
            article.guard_ids = frozenset(
                guard_id(g, where) for g in expand(entry.get("guards") or [], guard_sets, where)
            )
            raw_patterns = entry.get("patterns") or []
            if not raw_patterns:
                raise LexiconError(f"{where}: no patterns")
            for raw in raw_patterns:
                spec = {"pattern": raw} if isinstance(raw, str) else dict(raw)
                text = spec.get("pattern")
                pwhere = f"{where}, pattern {text!r}"
                if not isinstance(text, str) or not text.strip():
                    raise LexiconError(f"{where}: pattern without text: {raw!r}")
                unknown = set(spec) - _PATTERN_KEYS
                if unknown:
                    raise LexiconError(f"{pwhere}: unknown keys {sorted(unknown)}")
                when = spec.get("requires_when", "always")
                if when not in ("always", "unaccented"):
                    raise LexiconError(f"{pwhere}: requires_when must be always|unaccented")
                extra = frozenset(
                    guard_id(g, pwhere)
                    for g in expand(spec.get("guards") or [], guard_sets, pwhere)
                )
                pat = phrase(
                    text,
                    pwhere,
                    _Pattern,
                    strict=bool(spec.get("strict", True)),
                    exact=bool(spec.get("exact", False)),
                    uid=len(self._patterns),
                    article=number,
                    weight=self._weight(spec.get("weight", default_weight), pwhere),
                    requires=(
                        context(list(spec["requires_any"]), pwhere)
                        if spec.get("requires_any")
                        else None
                    ),
                    requires_when=when,
                    window=int(spec.get("window", default_window)),
                    guard_ids=article.guard_ids | extra,
                )
                article.patterns.append(pat)  # type: ignore[arg-type]
                self._patterns.append(pat)  # type: ignore[arg-type]
            self.articles[number] = article

        self._index = _build_index(self._patterns)
        self._guard_list = sorted(self._guards.values(), key=lambda g: g.uid)

    # ------------------------------------------------------------------ construction helpers

    def _weight(self, value: Any, where: str) -> float:
        if isinstance(value, str):
            if value not in self._weights:
                raise LexiconError(f"{where}: unknown weight {value!r}")
            return float(self._weights[value])
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1:
            return float(value)
        raise LexiconError(f"{where}: weight must be strong|medium|weak or a number in (0, 1]")

    @classmethod
    def from_yaml(cls, path: str | Path | None = None) -> CrimeLexicon:
        """Load a lexicon file (default: the packaged ``data/crime_lexicon.yaml``)."""
        import yaml  # PyYAML; imported here so the rest of the package works without it

        if path is None:
            ref = resources.files("classifier").joinpath("data/crime_lexicon.yaml")
            text = ref.read_text(encoding="utf-8")
            source = str(DEFAULT_LEXICON_PATH)
        else:
            text = Path(path).read_text(encoding="utf-8")
            source = str(path)
        data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
        if not isinstance(data, dict):
            raise LexiconError(f"{source}: expected a mapping at the top level")
        return cls(data, source=source)

    # ------------------------------------------------------------------ matching

    @staticmethod
    def _accent_ok(p: _Phrase, m: re.Match[str], t: _Text) -> tuple[bool, bool]:
        """(accepted, exact): compare the marks the user wrote with the phrase's marks.

        A written syllable is *compatible* when its letter marks (per letter) and its tone marks
        (per syllable) are subsets of the phrase syllable's, and *exact* when they are equal.
        In a text typed with diacritics (``t.accented``), and for words marked ``=`` in the
        pattern, every syllable must be exact; otherwise compatible is enough ("hoi lo", "hôi lộ"
        for "hối lộ").
        """
        exact = True
        text, offsets = t.text, t.offsets
        for gi, (accented, (lit_letters, lit_tones), always_exact) in enumerate(p.literals, 1):
            s, e = m.span(gi)
            if s < 0:
                continue
            written = text[offsets[s] : offsets[e]]
            if len(written) != len(accented):
                written = unicodedata.normalize("NFC", written)
                if len(written) != len(accented):  # pragma: no cover - exotic input
                    exact = False
                    continue
            w_letters, w_tones = _syllable_marks(written)
            if w_tones == lit_tones and w_letters == lit_letters:
                continue
            exact = False
            if not p.strict:
                continue
            if t.accented or always_exact or p.exact:
                return False, False
            if not w_tones <= lit_tones or not all(
                wl <= ll for wl, ll in zip(w_letters, lit_letters, strict=True)
            ):
                return False, False
        return True, exact

    def _context_found(self, p: _Pattern, t: _Text, start: int, end: int) -> bool:
        lo = max(0, start - p.window)
        hi = min(len(t.folded), end + p.window)
        for ctx in p.requires or ():
            for lo_, hi_ in ((lo, start), (end, hi)):
                for m in ctx.search.finditer(t.folded, lo_, hi_):
                    if self._accent_ok(ctx, m, t)[0]:
                        return True
        return False

    def _accepted(
        self, p: _Pattern, m: re.Match[str], t: _Text
    ) -> tuple[re.Match[str] | None, bool]:
        """The match if its diacritics fit, else a shorter match of the same pattern that fits.

        The regex works on folded text and picks one way to match ("đập" may be read as
        "đạp"); when that way fails the accent check, the pattern is tried again ending at an
        earlier word, so that another alternative ("đánh") gets its chance.
        """
        start = m.start()
        for _ in range(_MAX_RETRIES):
            ok, exact = self._accent_ok(p, m, t)
            if ok:
                return m, exact
            end = _previous_word_end(t.folded, m.end())
            if end <= start:
                return None, False
            m = p.regex.match(t.folded, start, end)  # type: ignore[assignment]
            if m is None:
                return None, False
        return None, False

    def _guarded(self, p: _Pattern, t: _Text, start: int, end: int) -> bool:
        """Does one of the pattern's guards match text overlapping ``[start, end)``?"""
        lo = max(0, start - _GUARD_REACH)
        hi = min(len(t.folded), end + _GUARD_REACH)
        for gid in sorted(p.guard_ids):
            g = self._guard_list[gid]
            for m in g.search.finditer(t.folded, lo, hi):
                if m.start() < end and start < m.end() and self._accent_ok(g, m, t)[0]:
                    return True
        return False

    def _matches(self, text: str) -> tuple[_Text, list[_Match]]:
        t = _Text(text)
        raw = _candidates(t.folded, self._index)
        if not raw:
            return t, []
        kept: list[_Match] = []
        for p, m0 in raw:
            m, exact = self._accepted(p, m0, t)
            if m is None:
                continue
            s, e = m.span()
            if p.guard_ids and self._guarded(p, t, s, e):
                continue
            if (
                p.requires is not None
                and (p.requires_when == "always" or not exact)
                and not self._context_found(p, t, s, e)
            ):
                continue
            kept.append(_Match(p, s, e))
        return t, kept

    def find(self, text: str) -> list[dict[str, Any]]:
        """Suspected articles with their evidence, strongest first (ties by article number).

        Each item is ``{"article": int, "name": str, "weight": float, "evidence": [{"text": str,
        "start": int, "end": int}, ...]}``. ``start``/``end`` index the NFC form of ``text``
        (``unicodedata.normalize("NFC", text)``, which is ``text`` itself for NFC input) and
        ``text`` is that slice. Overlapping evidence of one article is merged; spans are in
        text order. ``weight`` combines the distinct patterns that matched (noisy-or).
        """
        if not text:
            return []
        nfc = unicodedata.normalize("NFC", text)
        t, matches = self._matches(nfc)
        by_article: dict[int, list[_Match]] = {}
        for mt in matches:
            by_article.setdefault(mt.pattern.article, []).append(mt)
        results: list[dict[str, Any]] = []
        for number, items in by_article.items():
            weights = {mt.pattern.uid: mt.pattern.weight for mt in items}
            miss = 1.0
            for w in weights.values():
                miss *= 1.0 - w
            spans = _merge((t.offsets[mt.start], t.offsets[mt.end]) for mt in items)
            results.append(
                {
                    "article": number,
                    "name": self.articles[number].name,
                    "weight": round(1.0 - miss, 4),
                    "evidence": [{"text": nfc[s:e], "start": s, "end": e} for s, e in spans],
                }
            )
        results.sort(key=lambda r: (-r["weight"], r["article"]))
        return results

    def score(self, text: str) -> float:
        """0..1: how strongly the text suggests some crime.

        Noisy-or over distinct evidence spans: overlapping matches (of any article) count once,
        with their highest weight. One strong cue gives 0.9, one weak cue 0.3, two weak cues
        0.51; the same phrase listed under several articles is not counted twice.
        """
        if not text:
            return 0.0
        _, matches = self._matches(unicodedata.normalize("NFC", text))
        if not matches:
            return 0.0
        items = sorted((mt.start, mt.end, mt.pattern.weight) for mt in matches)
        miss = 1.0
        _, cur_e, cur_w = items[0]
        for s, e, w in items[1:]:
            if s < cur_e:
                cur_e = max(cur_e, e)
                cur_w = max(cur_w, w)
            else:
                miss *= 1.0 - cur_w
                cur_e, cur_w = e, w
        miss *= 1.0 - cur_w
        return round(1.0 - miss, 4)

    # ------------------------------------------------------------------ introspection

    def pattern_counts(self) -> dict[int, int]:
        """Number of patterns per article, by article number."""
        return {n: len(a.patterns) for n, a in sorted(self.articles.items())}

    def __len__(self) -> int:
        return len(self._patterns)


_MAX_RETRIES = 4


def _previous_word_end(folded: str, end: int) -> int:
    """End of the word before the one that ends at ``end``."""
    i = end
    while i > 0 and (folded[i - 1].isalnum() or folded[i - 1] == "_"):
        i -= 1
    while i > 0 and not (folded[i - 1].isalnum() or folded[i - 1] == "_"):
        i -= 1
    return i


# How far before/after a match a guard may start/end (characters); guards are short phrases.
_GUARD_REACH = 120

_PATTERN_KEYS = frozenset(
    {
        "pattern", "weight", "requires_any", "requires_when", "strict", "exact", "window",
        "guards", "note",
    }
)  # fmt: skip


class _Entry:
    """Phrases that start the same way, and a combined regex that pre-filters them."""

    __slots__ = ("phrases", "_any")

    def __init__(self) -> None:
        self.phrases: list[Any] = []
        self._any: re.Pattern[str] | None = None

    @property
    def any(self) -> re.Pattern[str]:
        if self._any is None:
            self._any = re.compile("|".join(f"(?:{p.plain_src})" for p in self.phrases))
        return self._any


class _Index:
    """Phrases by their first word, or by their first two words when those are fixed."""

    def __init__(self, phrases: Sequence[_Phrase]) -> None:
        self.one: dict[str, _Entry] = {}
        self.two: dict[tuple[str, str], _Entry] = {}
        for p in phrases:
            loose = {w1 for w1, w2 in p.starts if w2 is None}
            for w1, w2 in sorted(p.starts, key=lambda t: (t[0], t[1] or "")):
                if w1 in loose:
                    if w2 is None:
                        self.one.setdefault(w1, _Entry()).phrases.append(p)
                elif w2 is not None:
                    self.two.setdefault((w1, w2), _Entry()).phrases.append(p)


def _build_index(phrases: Sequence[_Phrase]) -> _Index:
    return _Index(phrases)


def _candidates(folded: str, index: _Index) -> list[tuple[Any, re.Match[str]]]:
    """Every (phrase, match) that starts at a word of the text.

    At each word, the phrases that start with that word (or with that word and the next one)
    are pre-filtered by one combined regex (usually none can match there); only then is each
    phrase tried, and only if the text contains a word of each of its required sets.
    """
    # Words and the separators between them, split in C: [w0, sep0, w1, sep1, ..., wn].
    pieces = _SPLIT_RE.split(folded)
    words_list = pieces[0::2]
    seps = pieces[1::2]
    words = set(words_list)
    one, two = index.one, index.two
    found: list[tuple[Any, re.Match[str]]] = []
    last = len(words_list) - 1
    pos = 0
    for i, w in enumerate(words_list):
        here = pos
        if i < last:
            pos += len(w) + len(seps[i])
        if not w:
            continue
        e1 = one.get(w)
        e2 = two.get((w, words_list[i + 1])) if i < last else None
        if e1 is None and e2 is None:
            continue
        for entry in (e1, e2):
            if entry is None or entry.any.match(folded, here) is None:
                continue
            for p in entry.phrases:
                for req in p.required:
                    if req.isdisjoint(words):
                        break
                else:
                    m = (p._regex or p.regex).match(folded, here)
                    if m is not None:
                        found.append((p, m))
    return found


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s < merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


@lru_cache(maxsize=1)
def _yaml_loader() -> type:
    """PyYAML's C-accelerated safe loader when available (5-10x faster), else the pure one."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)
