"""Masking personal data in the copy of a case that an agency reads.

The agency never sees the identity fields (Luật Tố cáo 2018, Art. 47); but reporters often
write their own name, phone or address into the story, and name witnesses and neighbours. So:

* what matches the reporter's **own identity fields** exactly (diacritics, case and
  punctuation ignored; digits compared without spaces) is always masked — these spans are found
  when the text is written, while the identity is at hand, and stored encrypted;
* other personal data found by pattern — Vietnamese personal names, phone numbers, ID card
  numbers (CCCD 12 digits, CMND 9), e-mail addresses and house-number addresses — are
  *proposed* masks that the Front reviews before transfer (a checkbox each; checked = masked),
  because the accused official's name is the substance of a denunciation and must reach the
  agency;
* staff can add their own phrases to mask ("also mask this text").

Spans are ``(start, end)`` character offsets into the text as stored. This module is pure
functions on strings; the services below the patterns read and store the confirmed choice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from classifier.normalize import fold_with_offsets
from portal.textfold import fold

# "self_name" is a name the writer gives as their own ("tôi là …", "tên tôi là …").
MASK_KINDS = ("identity", "self_name", "name", "phone", "id_number", "email", "address", "phrase")
# What is masked in messages, which nobody reviews: everything that points at the writer
# (their own name, contact details, ID numbers, home address). Other people's names stay: in a
# reply the agency asked for, a witness's name is what it needs.
MESSAGE_KINDS = ("identity", "self_name", "phone", "id_number", "email", "address", "phrase")
FIELDS = ("text", "involved")
MAX_PHRASES = 20
MAX_PHRASE_CHARS = 200


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    kind: str = "name"

    @property
    def key(self) -> str:
        return f"{self.start}:{self.end}"

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


# --- words ------------------------------------------------------------------------------------

# Letters and digits plus combining marks (text typed in NFD keeps its marks inside the word).
_WORD_RE = re.compile(r"[\w\u0300-\u036f]+")


@dataclass(frozen=True, slots=True)
class Word:
    start: int
    end: int
    text: str
    folded: str

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()

    @property
    def is_number(self) -> bool:
        return self.text[:1].isdigit()


def _words(text: str) -> list[Word]:
    folded = fold(text)
    if len(folded) == len(text):  # one folded character per character: slice, don't re-fold
        return [Word(m.start(), m.end(), m.group(), folded[m.start():m.end()])
                for m in _WORD_RE.finditer(text)]
    return [Word(m.start(), m.end(), m.group(), fold(m.group()))
            for m in _WORD_RE.finditer(text)]


def _gap(text: str, left: Word, right: Word) -> str:
    return text[left.end:right.start]


# --- names ------------------------------------------------------------------------------------
#
# Word lists are written with their accents. A word typed with accents is compared with its
# accents ("Đường" is a street, "Dương" a family name); a word typed without any ("Duong") is
# compared folded, so unaccented text is handled too, at the cost of some ambiguity.

def _has_marks(word: Word) -> bool:
    return word.folded != word.text.lower()


class WordSet:
    """Words compared with accents, or folded when the text has none."""

    def __init__(self, words: str):
        self.accented = frozenset(words.split())
        self.folded = frozenset(fold(w) for w in self.accented)

    def __contains__(self, word: Word) -> bool:
        if _has_marks(word):
            return word.text.lower() in self.accented
        return word.folded in self.folded


# The most common Vietnamese family names.
FAMILY_NAMES = WordSet(
    "nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý lí đinh trương lâm "
    "mai trịnh đoàn cao lương hà tạ tô chu thái triệu quách kiều la đào vương tăng lưu đồng "
    "khúc lục mạc nông hứa lã giang văn âu diệp tống thân kim nghiêm phùng quan doãn hầu lò "
    "lữ ninh châu đàm tiêu mã sầm vi bế"
)
# Cues after which a name follows. After a first-person cue a name may be typed in lower case
# ("tôi là nguyễn văn an").
FIRST_PERSON_CUES = tuple(tuple(cue.split()) for cue in (
    "tên tôi là", "tôi tên là", "tôi tên", "tôi là", "họ và tên", "họ tên", "em là", "cháu là",
    "mình là", "tên là",
))
HONORIFIC_CUES = tuple(tuple(cue.split()) for cue in (
    "ông", "bà", "anh", "chị", "cháu", "em", "cô", "chú", "bác", "cụ", "dì", "thím", "mợ",
    "cậu", "vợ chồng", "người tên", "tên",
))
# Capitalised words that begin a title or a body, never part of a personal name.
NOT_NAME_WORDS = WordSet("""
chủ phó giám trưởng bí cán ủy uỷ ban sở phòng xã phường tỉnh huyện quận thôn xóm ấp bản làng tổ
khu đường phố ngõ hẻm viện bệnh tòa toà đội đảng nhà mặt ngân kho cục tổng kiểm ubnd hđnd mttq
vks tand vksnd csgt csđt tại theo vì do nhưng và hoặc khi sau trước trong ngoài từ đến các những
một tôi chúng
""")
# Lower-case words that end a name typed in lower case.
LOWER_STOP = WordSet("""
ở sống tại là và có đã đang nhà trú thường hiện cư năm sinh sđt số điện thoại xin muốn gửi
phản ánh tố cáo báo
""")
# Words that end a title: "Chủ tịch xã Nguyễn Văn B" names a person, "xã Lê Lợi" a place.
TITLE_END = WordSet("tịch thư trưởng đốc bộ an sát án tra")
# A capitalised run right after one of these is a place, not a person.
PLACE_WORDS = WordSet("""
đường phố phường quận huyện tỉnh trấn xã thôn xóm ấp bản làng ngõ hẻm kiệt ngách chợ cầu sông
núi tp khu cụm sở
""")
PLACE_NAMES_EXTRA = ("Hà Giang", "Hà Nam", "Hà Tĩnh", "Hà Tây", "Thái Bình", "Lâm Đồng",
                     "Hồ Chí Minh", "Việt Nam", "Hà Nội", "Cao Bằng", "Thái Nguyên")
MAX_NAME_WORDS = 4


@cache
def _place_names() -> frozenset[str]:
    from portal import geo

    names = {fold(name) for name in PLACE_NAMES_EXTRA}
    for _code, name in geo.provinces():
        names.add(fold(re.sub(r"^(Thành phố|Tỉnh)\s+", "", name)))
    return frozenset(names)


def _word_is(word: Word, accented: str, folded: str) -> bool:
    if _has_marks(word):
        return word.text.lower() == accented
    return word.folded == folded


@cache
def _cues_by_last_word(cues: tuple) -> dict[str, list[tuple]]:
    """Cues indexed by the folded form of their last word, each with its folded words."""
    index: dict[str, list[tuple]] = {}
    for cue in cues:
        index.setdefault(fold(cue[-1]), []).append((cue, tuple(fold(w) for w in cue)))
    return index


def _cue_before(words: list[Word], text: str, index: int, cues) -> bool:
    """Whether one of ``cues`` ends right before word ``index`` (only spaces or a colon
    between)."""
    if index == 0:
        return False
    for cue, folded in _cues_by_last_word(cues).get(words[index - 1].folded, ()):
        n = len(cue)
        if index < n:
            continue
        window = words[index - n:index]
        if not all(_word_is(w, c, f) for w, c, f in zip(window, cue, folded, strict=True)):
            continue
        gaps = [_gap(text, a, b) for a, b in zip(window, window[1:], strict=False)]
        gaps.append(_gap(text, window[-1], words[index]))
        if all(gap and re.fullmatch(r"[ \t]*:?[ \t]*", gap) for gap in gaps):
            return True
    return False


def _run(words: list[Word], text: str, index: int, *, lower_ok: bool = False) -> int:
    """How many words from ``index`` form a name: capitalised (or, when ``lower_ok``, any
    case), separated by single spaces, no title word; at most four."""
    count = 0
    while index + count < len(words) and count < MAX_NAME_WORDS:
        word = words[index + count]
        if word.is_number or word in NOT_NAME_WORDS:
            break
        if not word.capitalised and (not lower_ok or word in LOWER_STOP):
            break
        if count and not re.fullmatch(r"[ \t]{1,2}", _gap(text, words[index + count - 1], word)):
            break
        count += 1
    return count


def name_spans(text: str, words: list[Word] | None = None) -> list[Span]:
    """Personal names: capitalised runs after a cue (“tôi là”, “ông”, “chị”…), and runs of two
    to four capitalised words that start with a common family name (also without accents)."""
    words = _words(text) if words is None else words
    found: list[Span] = []
    index = 0
    while index < len(words):
        word = words[index]
        length = 0
        kind = "name"
        if _cue_before(words, text, index, FIRST_PERSON_CUES):
            kind = "self_name"
            if word.capitalised:
                length = _run(words, text, index)
            elif word in FAMILY_NAMES:
                run = _run(words, text, index, lower_ok=True)
                length = run if run >= 2 else 0
        if not length:
            kind = "name"
        if not length and word.capitalised and _cue_before(words, text, index, HONORIFIC_CUES):
            length = _run(words, text, index)
        if not length and word.capitalised and word in FAMILY_NAMES:
            run = _run(words, text, index)
            before = words[index - 1] if index else None
            after_place = (before is not None and before in PLACE_WORDS
                           and re.fullmatch(r"[ \t]+", _gap(text, before, word))
                           and not (index >= 2 and words[index - 2] in TITLE_END))
            candidate = " ".join(w.folded for w in words[index:index + run])
            if run >= 2 and (after_place or candidate in _place_names()):
                index += run  # a place: skip it whole, so its tail is not taken for a name
                continue
            if run >= 2:
                length = run
        if length:
            found.append(Span(word.start, words[index + length - 1].end, kind))
            index += length
        else:
            index += 1
    return found


# --- numbers, e-mail ----------------------------------------------------------------------------

_PHONE_RE = re.compile(r"(?<![\w+])(?:\+84[ .\-]?|0)\d(?:[ .\-]?\d){8,9}(?!\d)")
_ID_RE = re.compile(
    r"(?<!\w)(?<!\d[.,])(?:\d{12}|\d{9}|\d{4} \d{4} \d{4}|\d{3} \d{3} \d{3} \d{3})"
    r"(?!\w|[.,]\d)"
    r"(?!\s*(?:đ\b|đồng|vnđ|vnd|triệu|tỷ|nghìn|ngàn))",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"[\w.+\-]{1,64}@[\w\-]+(?:\.[\w\-]+)+")


def _digits(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    if (value or "").strip().startswith("+84") or (digits.startswith("84") and len(digits) == 11):
        digits = "0" + digits[2:]
    return digits


def phone_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "phone") for m in _PHONE_RE.finditer(text)
            if len(_digits(m.group())) in (10, 11)]


def id_number_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "id_number") for m in _ID_RE.finditer(text)]


def email_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text)]


# --- addresses ----------------------------------------------------------------------------------

# Address components (folded word sequences), longest first.
_UNITS = sorted((tuple(u.split()) for u in (
    "to dan pho", "khu pho", "thi tran", "thi xa", "thanh pho", "ngo", "ngach", "hem", "kiet",
    "duong", "pho", "to", "xom", "thon", "ap", "ban", "khu", "khoi", "phuong", "xa", "quan",
    "huyen", "tinh", "tp", "lang", "cum",
)), key=len, reverse=True)
# Units that are an address by themselves when a number follows ("ngõ 12", "tổ 5").
_NUMBERED_UNITS = {("ngo",), ("ngach",), ("hem",), ("kiet",), ("to",), ("to", "dan", "pho"),
                   ("khoi",), ("khu", "pho")}
_SEPARATOR = re.compile(r"[ \t]*(?:,|-|–)?[ \t]*")


_UNITS_BY_FIRST: dict[str, list[tuple]] = {}
for _unit in _UNITS:
    _UNITS_BY_FIRST.setdefault(_unit[0], []).append(_unit)


def _unit_at(words: list[Word], text: str, i: int) -> int:
    """Length of the address unit keyword starting at word ``i`` (0 if none)."""
    for unit in _UNITS_BY_FIRST.get(words[i].folded, ()):
        n = len(unit)
        if i + n <= len(words) and tuple(w.folded for w in words[i:i + n]) == unit:
            if all(re.fullmatch(r"[ \t]+", _gap(text, a, b))
                   for a, b in zip(words[i:i + n], words[i + 1:i + n], strict=False)):
                return n
    return 0


_HOUSE_NUMBER = re.compile(r"\d+[A-Za-z]?")


def _number_at(words: list[Word], text: str, i: int) -> int:
    """Length of a house number at word ``i``: 12, 12A, 12/3, 12/3/4 (0 if none)."""
    if i >= len(words) or not words[i].is_number or not _HOUSE_NUMBER.fullmatch(words[i].text):
        return 0
    n = 1
    while (i + n < len(words) and _gap(text, words[i + n - 1], words[i + n]) == "/"
           and _HOUSE_NUMBER.fullmatch(words[i + n].text)):
        n += 1
    return n


def _value_at(words: list[Word], text: str, i: int) -> int:
    """A component's value: a number or up to four capitalised words."""
    n = _number_at(words, text, i)
    if n:
        return n
    count = 0
    while (i + count < len(words) and count < 4 and words[i + count].capitalised
           and (count == 0 or re.fullmatch(r"[ \t]+", _gap(text, words[i + count - 1],
                                                              words[i + count])))):
        count += 1
    return count


def _joined(words: list[Word], text: str, left: int, right: int) -> bool:
    """Words ``left`` and ``right`` are separated only by spaces, a comma or a dash."""
    return bool(_SEPARATOR.fullmatch(_gap(text, words[left], words[right])))


def _components(words: list[Word], text: str, i: int, *, after_number: bool = False) -> int:
    """How many words from ``i`` are address components (unit keyword + value), chained. After
    a number, a capitalised street name may follow without a keyword ("hẻm 21 Nguyễn Trãi")."""
    end = i
    while end < len(words):
        if end > i and not _joined(words, text, end - 1, end):
            break
        unit = _unit_at(words, text, end)
        if not unit:
            if (after_number and end > 0 and words[end].capitalised
                    and words[end] not in NOT_NAME_WORDS
                    and re.fullmatch(r"[ \t]+", _gap(text, words[end - 1], words[end]))):
                end += _value_at(words, text, end)
                after_number = False
                continue
            break
        if end + unit >= len(words):
            break
        value = _value_at(words, text, end + unit)
        if not value or not re.fullmatch(r"[ \t]+", _gap(text, words[end + unit - 1],
                                                        words[end + unit])):
            break
        after_number = words[end + unit].is_number
        end += unit + value
    return end - i


def address_spans(text: str, words: list[Word] | None = None) -> list[Span]:
    """House-number addresses: “số 12 ngõ 34 đường Lê Lợi”, “12/3 Trần Phú, phường X”,
    “ngõ 5 phố Huế”, “tổ 5, thôn Đồng Bẩm”. A bare “thôn X” or “xã Y” (where something
    happened) is not an address."""
    words = _words(text) if words is None else words
    found: list[Span] = []
    i = 0
    while i < len(words):
        start = i
        length = 0
        # "số (nhà) 12 <components>"
        if words[i].folded == "so":
            j = i + 1
            if j < len(words) and words[j].folded == "nha":
                j += 1
            number = _number_at(words, text, j)
            if number and _joined(words, text, j + number - 1, min(j + number, len(words) - 1)):
                rest = (_components(words, text, j + number, after_number=True)
                        if j + number < len(words) else 0)
                if rest:
                    length = (j + number - i) + rest
        # "12 ngõ 34 …", "12/3 Trần Phú …"
        if not length:
            number = _number_at(words, text, i)
            if number and i + number < len(words):
                rest = _components(words, text, i + number)
                slash = number > 1 and _value_at(words, text, i + number) and \
                    not words[i + number].is_number
                if rest:
                    length = number + rest
                elif slash:
                    length = number + _value_at(words, text, i + number)
                    length += _components(words, text, i + length) if i + length < len(words) \
                        else 0
        # "ngõ 12 …", "tổ 5, thôn …"
        if not length:
            unit = _unit_at(words, text, i)
            if unit and tuple(w.folded for w in words[i:i + unit]) in _NUMBERED_UNITS:
                number = _number_at(words, text, i + unit)
                if number:
                    length = unit + number
                    if i + length < len(words):
                        length += _components(words, text, i + length, after_number=True)
        if length:
            found.append(Span(words[start].start, words[start + length - 1].end, "address"))
            i += length
        else:
            i += 1
    return found


# --- exact values (identity, staff phrases) -----------------------------------------------------

def _phrase_pattern(value: str) -> re.Pattern | None:
    words = _WORD_RE.findall(fold(unicodedata.normalize("NFC", value or "")))
    if not words:
        return None
    return re.compile(r"(?<!\w)" + r"[\s,.;:\-–/]+".join(map(re.escape, words)) + r"(?!\w)")


def _find_folded(text: str, pattern: re.Pattern, kind: str) -> list[Span]:
    folded, offsets = fold_with_offsets(text)
    return [Span(offsets[m.start()], offsets[m.end()], kind) for m in pattern.finditer(folded)]


def phrase_spans(text: str, phrases, kind: str = "phrase") -> list[Span]:
    """Every occurrence of each phrase, ignoring diacritics, case and punctuation between
    words."""
    found = []
    for phrase in phrases or ():
        pattern = _phrase_pattern(phrase)
        if pattern is not None:
            found += _find_folded(text, pattern, kind)
    return found


def identity_spans(text: str | None, identity: dict | None) -> list[Span]:
    """Where the reporter's own identity fields appear in ``text``: always masked."""
    if not text or not identity:
        return []
    spans = phrase_spans(text, [identity.get(k) for k in ("name", "address") if identity.get(k)],
                         "identity")
    email = (identity.get("email") or "").strip()
    if email:
        spans += [Span(m.start(), m.end(), "identity") for m in re.finditer(
            rf"(?<![\w.+\-]){re.escape(email)}(?![\w\-])", text, re.IGNORECASE)]
    for key, finder in (("phone", phone_spans), ("id_number", id_number_spans)):
        wanted = _digits(identity.get(key) or "")
        if not wanted:
            continue
        spans += [Span(s.start, s.end, "identity") for s in finder(text)
                  if _digits(text[s.start:s.end]) == wanted]
        # The bare digits anywhere else (e.g. inside a longer number-like string).
        spans += [Span(m.start(), m.end(), "identity")
                  for m in re.finditer(rf"(?<!\d){re.escape(wanted)}(?!\d)", text)]
    return merge(spans)


# --- combining ----------------------------------------------------------------------------------

def _non_overlapping(spans) -> list[Span]:
    """Earliest first, longer first at the same start; later overlapping spans are dropped."""
    kept: list[Span] = []
    end = -1
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if span.start >= end:  # sorted by start: only the furthest end so far can overlap
            kept.append(span)
            end = span.end
    return kept


def proposed_spans(text: str | None, *, exclude=()) -> list[Span]:
    """Pattern-based masks for staff to confirm; none overlaps another or ``exclude``."""
    if not text:
        return []
    words = _words(text)
    candidates = (email_spans(text) + phone_spans(text) + id_number_spans(text)
                  + address_spans(text, words) + name_spans(text, words))
    exclude = list(exclude)
    return [s for s in _non_overlapping(candidates)
            if not any(s.overlaps(other) for other in exclude)]


def merge(spans) -> list[Span]:
    """Overlapping or touching spans joined (the kind of the first is kept)."""
    merged: list[Span] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end), last.kind)
        else:
            merged.append(span)
    return merged


def segments(text: str | None, spans) -> list[tuple[str, Span | None]]:
    """``text`` cut into ``(piece, span)`` pieces; ``span`` is None for text left as is."""
    if not text:
        return []
    pieces: list[tuple[str, Span | None]] = []
    position = 0
    for span in merge(s for s in spans if 0 <= s.start < s.end <= len(text)):
        if span.start > position:
            pieces.append((text[position:span.start], None))
        pieces.append((text[span.start:span.end], span))
        position = span.end
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces


def redact(text: str | None, spans, placeholder: str = "[đã che]") -> str:
    """The text with every span replaced by ``placeholder``."""
    return "".join(placeholder if span else piece for piece, span in segments(text, spans))


def clean_phrases(raw: str | None) -> list[str]:
    """Staff's "also mask" lines: trimmed, non-empty, at most 20 of 200 characters."""
    lines = [line.strip() for line in (raw or "").splitlines()]
    return [line[:MAX_PHRASE_CHARS] for line in lines if _phrase_pattern(line)][:MAX_PHRASES]


def to_pairs(spans) -> list[list]:
    return [[s.start, s.end, s.kind] for s in spans]


def from_pairs(items) -> list[Span]:
    spans = []
    for item in items or ():
        start, end = int(item[0]), int(item[1])
        kind = item[2] if len(item) > 2 and item[2] in MASK_KINDS else "identity"
        spans.append(Span(start, end, kind))
    return spans
