"""The English catalogue is complete, and English pages really come out in English.

Vietnamese is the source language; a string added to the code without an English
translation makes `scripts/translations.sh check` (and so this suite) fail.
"""

import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "translations.sh"
CATALOGUE = ROOT / "portal" / "translations" / "en" / "LC_MESSAGES"
PO = CATALOGUE / "messages.po"
MO = CATALOGUE / "messages.mo"


def _vietnamese_msgids() -> list[str]:
    """Every source string whose English differs from it (the brand name aside)."""
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    return [m.id for m in catalog if m.id and isinstance(m.id, str) and m.string != m.id]


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _translations(catalog) -> dict:
    # Plural entries (ngettext) come as lists from the .mo and tuples from the .po.
    def same(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {same(m.id): same(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


@pytest.fixture(autouse=True)
def _compiled_catalogue():
    """The pages are rendered from the .mo, which is built (not committed) from the .po."""
    stale = "run scripts/translations.sh compile (scripts/setup.sh does it)"
    assert MO.exists(), f"the English catalogue is not compiled: {stale}"
    with PO.open("rb") as po, MO.open("rb") as mo:
        assert _translations(read_mo(mo)) == _translations(read_po(po)), (
            f"the compiled English catalogue is older than the .po: {stale}"
        )


def test_every_message_has_an_english_translation():
    result = subprocess.run(
        ["bash", str(SCRIPT), "check"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_landing_page_in_english(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page
    assert "Send a report" in page
    assert re.search(r'<a class="button" href="/gui-tin">\s*Send a report\s*</a>', page)
    text = _visible_text(page)
    for vietnamese in ("Gửi tin mới", "Tra cứu bằng mã", "Quyền của bạn", "Lưu ý"):
        assert vietnamese not in text
    leftovers = [msgid for msgid in _vietnamese_msgids() if msgid in text]
    assert not leftovers, f"Vietnamese left on the English landing page: {leftovers}"


def test_lookup_page_in_english(client):
    text = _visible_text(client.get("/tra-cuu?lang=en").get_data(as_text=True))
    assert "Lookup code" in text
    leftovers = [msgid for msgid in _vietnamese_msgids() if msgid in text]
    assert not leftovers, f"Vietnamese left on the English lookup page: {leftovers}"


def test_report_form_in_english(client):
    page = client.get("/gui-tin?lang=en&province=19").get_data(as_text=True)
    assert re.search(r'<label for="text">\s*What happened\?\s*</label>', page), page[:3000]
    assert "Việc gì đã xảy ra?" not in page
    assert "Gửi tin" not in _visible_text(page)


def test_vietnamese_stays_the_default(client):
    page = client.get("/").get_data(as_text=True)
    assert 'lang="vi"' in page
    assert "Gửi tin mới" in page
    assert "Send a report" not in page
