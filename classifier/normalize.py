"""Text normalisation for Vietnamese reports: NFC clean-up, diacritic folding, abbreviations.

Plain functions on ``str``; no dependency beyond the standard library.

* :func:`normalize` cleans a report before it is stored, shown or encoded: Unicode NFC, one kind
  of space, quote and dash, no control or invisible format characters. Letters are never changed.
* :func:`fold` is the matching form: lowercase, every Vietnamese tone and vowel mark removed and
  ``đ`` → ``d`` (``"Nhận HỐI LỘ"`` → ``"nhan hoi lo"``). Text typed without diacritics ("khong
  dau") and accented text fold to the same string, so a matcher that works on folded text treats
  them alike.
* :func:`fold_with_offsets` is :func:`fold` plus a map back to the input, so a match found in the
  folded text is reported as a span of the text the user actually wrote (evidence spans).
* :func:`expand_abbreviations` spells out common administrative and chat abbreviations (UBND, CA
  xã, GPMB, ko, đc, 50tr…) for consumers that want full words, e.g. before encoding.

The offsets guarantee
---------------------
``fold`` maps every input character to **exactly one** output character, except combining marks
(Unicode category Mn/Me) and invisible format characters (Cf: zero-width space, soft hyphen, BOM,
…), which it drops. Consequently, for any string ``s`` that contains no Mn/Me/Cf character,
``len(fold(s)) == len(s)`` and ``fold(s)[i]`` is the folded form of ``s[i]``; a match at
``[i, j)`` in ``fold(s)`` is the text ``s[i:j]``. Every Vietnamese letter has a precomposed form,
so NFC Vietnamese text (the output of :func:`normalize` or ``unicodedata.normalize("NFC", ...)``)
never contains combining marks and is always in this case.

For any other input (NFD text, stray marks, zero-width characters, other scripts),
:func:`fold_with_offsets` returns ``(folded, offsets)`` with ``len(offsets) == len(folded) + 1``:
folded character ``k`` comes from ``s[offsets[k]:offsets[k + 1]]`` (its base character plus any
dropped marks or format characters that follow it), so ``[i, j)`` in the folded text is
``s[offsets[i]:offsets[j]]`` in the input. ``offsets`` is strictly increasing, starts at 0 and
ends at ``len(s)``. When nothing was dropped it is simply ``range(len(s) + 1)``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

__all__ = [
    "normalize",
    "fold",
    "fold_with_offsets",
    "has_diacritics",
    "expand_abbreviations",
]

# --------------------------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------------------------

_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u301d\u301e\uff02"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2039\u203a\u2032\u00b4\u0060\uff07"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d"

# Look-alikes that people (and old fonts) use for the Vietnamese letter Đ/đ.
_D_LOOKALIKES = {"\u00d0": "\u0110", "\u0189": "\u0110", "\u00f0": "\u0111", "\u0256": "\u0111"}

_NORMALIZE_TABLE: dict[int, str | None] = {}
for _c in _DOUBLE_QUOTES:
    _NORMALIZE_TABLE[ord(_c)] = '"'
for _c in _SINGLE_QUOTES:
    _NORMALIZE_TABLE[ord(_c)] = "'"
for _c in _DASHES:
    _NORMALIZE_TABLE[ord(_c)] = "-"
for _src, _dst in _D_LOOKALIKES.items():
    _NORMALIZE_TABLE[ord(_src)] = _dst
_NORMALIZE_TABLE[ord("\u2026")] = "..."
# Full-width ASCII (typed with some East Asian input methods) → ASCII.
for _cp in range(0xFF01, 0xFF5F):
    _NORMALIZE_TABLE.setdefault(_cp, chr(_cp - 0xFEE0))

_HSPACE_RE = re.compile(r"[^\S\n]+")  # any whitespace except newline
_SPACE_AROUND_NL_RE = re.compile(r" *\n *")
_MANY_NL_RE = re.compile(r"\n{3,}")


def _is_dropped_control(ch: str) -> bool:
    """Control (Cc) and format (Cf) characters removed by :func:`normalize` (not \\t \\n \\r)."""
    if ch in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85":  # whitespace-like controls: unified later
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def normalize(text: str) -> str:
    """Clean a report for storage, display and encoding; the words themselves are kept.

    NFC; ``\\r\\n``/``\\r`` → ``\\n``; every other whitespace run (NBSP, tabs, ideographic space…)
    → one space; spaces around newlines removed and at most one empty line kept; curly and angle
    quotes → ``"``/``'``; all dashes and minus signs → ``-``; ``…`` → ``...``; full-width ASCII →
    ASCII; Đ look-alikes (Ð, Ɖ) → Đ; control and invisible format characters (zero-width space,
    soft hyphen, BOM, bidi marks) removed; leading/trailing whitespace stripped.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if not _is_dropped_control(ch))
    # NFC after removing format characters: a zero-width space between a letter and its
    # combining mark would otherwise block composition.
    text = unicodedata.normalize("NFC", text.translate(_NORMALIZE_TABLE))
    text = "\n".join(_HSPACE_RE.sub(" ", line) for line in text.split("\n"))
    text = _SPACE_AROUND_NL_RE.sub("\n", text)
    text = _MANY_NL_RE.sub("\n\n", text)
    return text.strip()


# --------------------------------------------------------------------------------------------
# fold
# --------------------------------------------------------------------------------------------

_FOLD_SPECIAL = {
    "\u0110": "d",
    "\u0111": "d",  # Đ đ
    "\u00d0": "d",
    "\u00f0": "d",
    "\u0189": "d",
    "\u0256": "d",  # Đ look-alikes
    "\u00c6": "a",
    "\u00e6": "a",  # keep 1:1 (ae ligature would be 2 chars)
    "\u00d8": "o",
    "\u00f8": "o",
    "\u0141": "l",
    "\u0142": "l",
    "\u0131": "i",
    "\u2026": ".",
}
for _c in _DOUBLE_QUOTES:
    _FOLD_SPECIAL[_c] = '"'
for _c in _SINGLE_QUOTES:
    _FOLD_SPECIAL[_c] = "'"
for _c in _DASHES:
    _FOLD_SPECIAL[_c] = "-"


def _fold_char(ch: str) -> str | None:
    """Folded form of one character: one character, or ``None`` when the character is dropped."""
    special = _FOLD_SPECIAL.get(ch)
    if special is not None:
        return special
    cat = unicodedata.category(ch)
    if cat in ("Mn", "Me", "Cf"):
        return None
    if ch.isspace():
        return " "
    base = "".join(
        c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) not in ("Mn", "Me")
    )
    low = base.lower()
    if len(low) == 1:
        # Lowercasing can reintroduce a mark (e.g. "İ" → "i̇"); handled by the len check.
        return low
    # Characters whose folded form is not exactly one character (ligatures like "ǅ", "İ"):
    # keep them 1:1 with a plain lowercase when that is one character, else unchanged.
    low = ch.lower()
    return low if len(low) == 1 else ch


class _FoldTable(dict):
    """``str.translate`` table that computes and caches the folded form of unseen characters."""

    def __missing__(self, key: int) -> str | None:
        value = _fold_char(chr(key))
        self[key] = value
        return value


_FOLD_TABLE = _FoldTable()
# Pre-fill ASCII (the common case) so translate never calls __missing__ for it.
for _cp in range(128):
    _FOLD_TABLE[_cp]  # noqa: B018 - populates the cache


def fold(text: str) -> str:
    """Lowercase, diacritic-free matching form (``"Cán bộ ĐỊA CHÍNH"`` → ``"can bo dia chinh"``).

    ``đ``/``Đ`` → ``d``; all tone and vowel marks removed; whitespace characters → ``" "``; curly
    quotes → ``"``/``'``; dashes → ``-``. Works the same on NFC, NFD and mixed input. Exactly one
    output character per input character except dropped combining marks and format characters:
    see the module docstring for the offsets guarantee.
    """
    return text.translate(_FOLD_TABLE)


def fold_with_offsets(text: str) -> tuple[str, Sequence[int]]:
    """``(fold(text), offsets)``: folded ``[i, j)`` is ``text[offsets[i]:offsets[j]]``.

    ``offsets`` has ``len(folded) + 1`` entries. Combining marks and format characters dropped by
    the fold belong to the preceding character's span (leading ones to the first character's),
    so a span always covers a whole accented letter even in NFD input.
    """
    folded = text.translate(_FOLD_TABLE)
    if len(folded) == len(text):
        return folded, range(len(text) + 1)
    offsets: list[int] = []
    table = _FOLD_TABLE
    for i, ch in enumerate(text):
        if table[ord(ch)] is not None:
            offsets.append(i)
    if offsets:
        offsets[0] = 0
    offsets.append(len(text))
    return folded, offsets


def has_diacritics(text: str) -> bool:
    """True when some letter of ``text`` carries a mark (tone, hat, horn, breve) or is đ/Đ."""
    if "đ" in text or "Đ" in text:
        return True
    return any(unicodedata.category(c) == "Mn" for c in unicodedata.normalize("NFD", text))


# --------------------------------------------------------------------------------------------
# expand_abbreviations
# --------------------------------------------------------------------------------------------
#
# Rules are regular expressions over the *folded* text (lowercase, no marks), so "HĐND", "HDND",
# "hđnd" and "hdnd" are one rule. Each rule may also require a casing of the original token
# (``case="upper"``: written in capitals, e.g. "CA", "CT") because several short abbreviations
# are ordinary Vietnamese words in lowercase. The replacement is written in accented Vietnamese
# (the encoder knows accented words best) and is capitalised when the original token started
# with a capital letter and the expansion is a common noun.
#
# Word boundaries: a token is delimited by characters that are not letters or digits
# (``(?<![^\W_])`` / ``(?![^\W_])``), so "ca" inside "cao", "ca sĩ" or "ca làm việc" is never
# touched, and "50k" is not "k" (không).

_L = r"(?<![^\W_])"  # left word boundary (letters/digits are word characters, "_" is not)
_R = r"(?![^\W_])"  # right word boundary

# Administrative units that follow "CA"/"UBND"… in "CA xã", "công an phường"…
_UNITS = r"(?:xa|phuong|huyen|quan|tinh|thi tran|thi xa|tp|thanh pho|ap|thon|khu vuc)"

Replacement = str | Callable[[re.Match[str], str], str | None]


class _Rule:
    __slots__ = ("regex", "replacement", "case", "proper")

    def __init__(
        self,
        pattern: str,
        replacement: Replacement,
        *,
        case: str = "any",
        proper: bool = False,
    ) -> None:
        self.regex = re.compile(pattern)
        self.replacement = replacement
        self.case = case  # "any" | "upper" (token written in capitals) | "lower"
        self.proper = proper  # expansion keeps its own capitalisation (names of bodies)


def _r(pattern: str, replacement: Replacement, **kw: object) -> _Rule:
    return _Rule(_L + pattern + _R, replacement, **kw)  # type: ignore[arg-type]


# Order matters: longer abbreviations first, so "VKSND" wins over "VKS" and "GCNQSDĐ" over "GCN".
_RULES: list[_Rule] = [
    # --- bodies and offices (proper names keep their capitals) ---
    _r(r"ubmttq(?:vn)?", "Ủy ban Mặt trận Tổ quốc", proper=True),
    _r(r"ubnd", "Ủy ban nhân dân", proper=True),
    _r(r"hdnd", "Hội đồng nhân dân", proper=True),
    _r(r"mttq(?:vn)?", "Mặt trận Tổ quốc", proper=True),
    _r(r"vksnd(?:tc)?", "Viện kiểm sát nhân dân", proper=True),
    _r(r"vks", "Viện kiểm sát", proper=True),
    _r(r"tand(?:tc)?", "Tòa án nhân dân", proper=True),
    _r(r"cctha(?:ds)?", "Chi cục Thi hành án dân sự", proper=True),
    _r(r"ctha(?:ds)", "Cục Thi hành án dân sự", proper=True),
    _r(r"thads", "thi hành án dân sự"),
    _r(r"cqcsdt", "cơ quan Cảnh sát điều tra"),
    _r(r"cqdt", "cơ quan điều tra"),
    _r(r"csdt", "cảnh sát điều tra"),
    _r(r"csgt", "cảnh sát giao thông"),
    _r(r"cskv", "cảnh sát khu vực"),
    _r(r"cscd", "cảnh sát cơ động"),
    _r(r"cshs", "cảnh sát hình sự"),
    _r(r"catp", "Công an thành phố", proper=True),
    _r(r"cand", "Công an nhân dân", proper=True),
    _r(r"dbqh", "đại biểu Quốc hội"),
    _r(r"vpdk(?:dd)?", "văn phòng đăng ký đất đai"),
    _r(r"tnmt|tn&mt|tn-mt", "tài nguyên và môi trường"),
    _r(r"ldtbxh|ld-tb&xh|ldtb&xh", "Lao động - Thương binh và Xã hội", proper=True),
    _r(r"bqlda", "ban quản lý dự án"),
    _r(r"bql", "ban quản lý"),
    _r(r"htx", "hợp tác xã"),
    _r(r"dnnn", "doanh nghiệp nhà nước"),
    _r(r"nsnn", "ngân sách nhà nước"),
    _r(r"bvdk", "bệnh viện đa khoa"),
    _r(r"tyt", "trạm y tế"),
    _r(r"csyt", "cơ sở y tế"),
    _r(r"gvcn", "giáo viên chủ nhiệm"),
    # --- police: "CA" only when unambiguous ---
    # "ca" is an ordinary word (ca = shift, song; cá = fish; cà, cả…). We expand it only when
    # (a) it is written "CA" in capitals as a standalone token, or (b) it is written exactly
    # "ca"/"Ca" (no tone mark) and directly followed by an administrative unit: "ca xã",
    # "Ca phuong 5", "CA huyện". "ca làm việc", "ca sĩ", "cá xã" stay as they are.
    _r(r"ca(?=\s+" + _UNITS + _R + r")", "công an", case="notone"),
    _r(r"ca", "công an", case="upper"),
    # --- land ---
    _r(r"gcn\s*qsdd|gcnqsdd", "giấy chứng nhận quyền sử dụng đất"),
    _r(r"qsd\s*dat|qsdd", "quyền sử dụng đất"),
    _r(r"gcn", "giấy chứng nhận"),
    _r(r"gpmb", "giải phóng mặt bằng"),
    _r(r"tdc", "tái định cư"),
    _r(r"gpxd", "giấy phép xây dựng"),
    _r(r"bds", "bất động sản"),
    _r(r"kcn", "khu công nghiệp"),
    _r(r"kdt", "khu đô thị"),
    # --- insurance, identity, procedure ---
    _r(r"bhyt", "bảo hiểm y tế"),
    _r(r"bhxh", "bảo hiểm xã hội"),
    _r(r"bhtn", "bảo hiểm thất nghiệp"),
    _r(r"cccd", "căn cước công dân"),
    _r(r"cmnd|cmt", "chứng minh nhân dân"),
    _r(r"tthc", "thủ tục hành chính"),
    _r(r"xkld", "xuất khẩu lao động"),
    _r(r"hdld", "hợp đồng lao động"),
    _r(r"nld", "người lao động"),
    _r(r"pccc", "phòng cháy chữa cháy"),
    _r(r"antt", "an ninh trật tự"),
    _r(r"attp", "an toàn thực phẩm"),
    _r(r"atgt", "an toàn giao thông"),
    _r(r"gtgt", "giá trị gia tăng"),
    # --- people and roles ---
    _r(r"cbcc(?:vc)?", "cán bộ công chức"),
    _r(r"cbcnv", "cán bộ công nhân viên"),
    _r(r"ccvc", "công chức viên chức"),
    _r(r"cb", "cán bộ"),
    _r(r"ctv", "cộng tác viên"),
    _r(r"pct", "phó chủ tịch"),
    # "CT"/"ct": chủ tịch before a body ("CT UBND", "ct xã"), công ty before a company form
    # ("ct TNHH", "CT cổ phần"); otherwise ambiguous (công trình, chương trình…) → unchanged.
    _r(r"ct(?=\s+(?:ubnd|hdnd|ub|uy ban|" + _UNITS + r")" + _R + r")", "chủ tịch"),
    _r(r"ct(?=\s+(?:tnhh|cp|co phan|xay dung|bat dong san)" + _R + r")", "công ty"),
    _r(r"cty", "công ty"),
    _r(r"d/c", "đồng chí"),
    _r(r"mn", "mọi người", case="lower"),
    _r(r"ng", "người", case="lower"),
    _r(r"ae", "anh em", case="lower"),
    # "vk"/"ck": vợ/chồng; "ck" before money or a transfer verb is "chuyển khoản".
    _r(r"vk", "vợ", case="lower"),
    _r(
        r"ck(?=\s*(?:\d|(?:tien|cho|vao|qua|sang|lai|truoc|them)" + _R + r"))",
        "chuyển khoản",
        case="lower",
    ),
    _r(r"ck", "chồng", case="lower"),
    # --- places ---
    _r(r"tp\.?\s*hcm|tphcm", "thành phố Hồ Chí Minh"),
    _r(r"tp", "thành phố"),
    # "Q.3", "P.12": quận/phường only with the dot and a number (Q1/P1 alone are ambiguous).
    _Rule(_L + r"q\.\s?(?=\d)", "quận "),
    _Rule(_L + r"p\.\s?(?=\d)", "phường "),
    # --- chat words (lowercase only: capitals are usually initials like "ông K.") ---
    _r(r"ko|k0|kh0|khg|hok", "không"),
    _r(r"k", "không", case="lower"),
    _r(r"kg", lambda m, original: None if _after_number(m) else "không", case="lower"),
    _r(r"dc(?=\s*:)", "địa chỉ"),
    _r(r"dc", "được", case="lower"),
    _r(r"j", "gì", case="lower"),
    _r(r"vs", "với", case="lower"),
    _r(r"r", "rồi", case="lower"),
    _r(r"trc|trk", "trước", case="lower"),
    _r(r"bik|bjk", "biết", case="lower"),
    _r(r"ntn", "như thế nào", case="lower"),
    _r(r"sdt", "số điện thoại"),
]

# "50tr", "50 tr", "1tr5" (= 1 triệu 5), "200k", "500.000đ"
_MONEY_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"(?<![^\W_])(\d+(?:[.,]\d+)?)\s?tr(\d{1,3})?" + _R),
        lambda m: f"{m.group(1)} triệu" + (f" {m.group(2)}" if m.group(2) else ""),
    ),
    (
        re.compile(r"(?<![^\W_])(\d+(?:[.,]\d+)?)\s?k" + _R),
        lambda m: f"{m.group(1)} nghìn",
    ),
    (
        re.compile(r"(?<![^\W_])(\d{1,3}(?:[.,]\d{3})+|\d+)\s?(d|vnd)" + _R),
        lambda m: f"{m.group(1)} đồng",
    ),
]

# sổ đỏ / sổ hồng: keep the colloquial words and add the legal name after them.
_SO_DO_RE = re.compile(_L + r"so\s+(do|hong)" + _R)
_LAND_CONTEXT_RE = re.compile(
    _L + r"(?:dat|nha|thua|dia chinh|cap|sang ten|the chap|chuyen nhuong|lam|xin|cam|giu)" + _R
)
_SO_DO_LEGAL = {
    "do": "giấy chứng nhận quyền sử dụng đất",
    "hong": "giấy chứng nhận quyền sở hữu nhà ở và quyền sử dụng đất",
}


def _case_ok(original: str, case: str) -> bool:
    if case == "any":
        return True
    letters = [c for c in original if c.isalpha()]
    if case == "upper":
        return bool(letters) and all(c.isupper() for c in letters)
    if case == "lower":
        return all(c.islower() for c in letters)
    if case == "notone":
        # exactly "ca"/"Ca"/"CA": no tone mark (cá, cà, cả… are other words)
        return fold(original) == original.lower()
    raise ValueError(case)


def _after_number(m: re.Match[str]) -> bool:
    """The match directly follows a number ("5 kg", "5kg"): a unit, not an abbreviation."""
    return bool(re.search(r"\d\s?$", m.string[max(0, m.start() - 2) : m.start()]))


def _cased(original: str, expansion: str, proper: bool) -> str:
    if proper:
        return expansion
    if original[:1].isupper() and not original.isupper():
        return expansion[:1].upper() + expansion[1:]
    if original.isupper() and len(original) == 1:
        return expansion[:1].upper() + expansion[1:]
    return expansion


def _apply_rules(text: str) -> str:
    for rule in _RULES:
        folded = fold(text)  # 1:1 with text (NFC, no format characters)
        pieces: list[str] = []
        last = 0
        for m in rule.regex.finditer(folded):
            start, end = m.span()
            original = text[start:end]
            if not _case_ok(original, rule.case):
                continue
            repl = rule.replacement
            new = repl(m, original) if callable(repl) else repl
            if new is None:
                continue
            pieces.append(text[last:start])
            pieces.append(_cased(original, new, rule.proper))
            last = end
        if pieces:
            pieces.append(text[last:])
            text = "".join(pieces)
    return text


def _apply_money(text: str) -> str:
    for regex, repl in _MONEY_RULES:
        folded = fold(text)
        pieces: list[str] = []
        last = 0
        for m in regex.finditer(folded):
            pieces.append(text[last : m.start()])
            pieces.append(repl(m))
            last = m.end()
        if pieces:
            pieces.append(text[last:])
            text = "".join(pieces)
    return text


def _apply_so_do(text: str) -> str:
    folded = fold(text)
    pieces: list[str] = []
    last = 0
    for m in _SO_DO_RE.finditer(folded):
        original = text[m.start() : m.end()]
        kind = m.group(1)
        accented = original.lower() != fold(original)
        if accented:
            # Written with marks: accept only the marks of sổ đỏ / sổ hồng (possibly partial,
            # e.g. "sổ do", "so đỏ"); "số đó", "sơ đồ", "số hồng" are other words.
            ok = _marks_subset(original.lower(), "sổ đỏ" if kind == "do" else "sổ hồng")
        else:
            # "so do" without marks may also be "sơ đồ" or "số đó": require a land word nearby.
            window = folded[max(0, m.start() - 40) : m.end() + 40]
            ok = bool(_LAND_CONTEXT_RE.search(window)) or kind == "hong"
        if not ok:
            continue
        following = folded[m.end() : m.end() + 40]
        if "giay chung nhan" in following:
            continue  # already spelled out ("sổ đỏ (giấy chứng nhận…)")
        pieces.append(text[last : m.end()])
        pieces.append(f" ({_SO_DO_LEGAL[kind]})")
        last = m.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _marks(ch: str) -> tuple[str, frozenset[str]]:
    if ch in "đĐ":
        return "d", frozenset({"stroke"})
    decomposed = unicodedata.normalize("NFD", ch)
    return decomposed[:1].lower(), frozenset(decomposed[1:])


def _marks_subset(written: str, reference: str) -> bool:
    """Every mark written on each letter also appears on the reference letter (same length)."""
    if len(written) != len(reference):
        return False
    for w, r in zip(written, reference, strict=True):
        wb, wm = _marks(w)
        rb, rm = _marks(r)
        if wb != rb or not wm <= rm:
            return False
    return True


def expand_abbreviations(text: str) -> str:
    """Spell out common Vietnamese administrative and chat abbreviations.

    ``"UBND xa k giai quyet, CA xã bảo phải đưa 50tr"`` →
    ``"Ủy ban nhân dân xa không giai quyet, công an xã bảo phải đưa 50 triệu"``.

    Conservative by design: a token is replaced only when it is a whole word and unambiguous in
    its context (see the comments on ``_RULES``); "sổ đỏ"/"sổ hồng" are kept and their legal
    name is added in parentheses. The input is brought to NFC first; other characters are kept.
    """
    if not text:
        return ""
    text = unicodedata.normalize(
        "NFC", "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    )
    text = _apply_money(text)
    text = _apply_rules(text)
    text = _apply_so_do(text)
    return text
