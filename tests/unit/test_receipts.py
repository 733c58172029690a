"""Receipt codes: ≥ 80 bits, easy to type back, stored only as a keyed hash."""

import math

from hypothesis import given
from hypothesis import strategies as st

from portal import receipts


def test_code_has_at_least_80_bits_and_four_groups():
    code = receipts.new_code()
    groups = code.split("-")
    assert len(groups) == 4 and all(len(g) == 5 for g in groups)
    bits = receipts.CODE_LENGTH * math.log2(len(receipts.ALPHABET))
    assert bits >= 80
    assert len({receipts.new_code() for _ in range(2000)}) == 2000


@given(st.sampled_from(["lower", "spaces", "nodash", "confusable"]))
def test_typing_variants_give_the_same_hash(variant):
    code = receipts.new_code()
    typed = {
        "lower": code.lower(),
        "spaces": code.replace("-", " "),
        "nodash": code.replace("-", ""),
        "confusable": code.replace("0", "O").replace("1", "l"),
    }[variant]
    assert receipts.code_hash(typed, "k") == receipts.code_hash(code, "k")


def test_hash_depends_on_the_server_secret_and_never_contains_the_code():
    code = receipts.new_code()
    first, second = receipts.code_hash(code, "k1"), receipts.code_hash(code, "k2")
    assert first != second and len(first) == 64
    assert code.replace("-", "") not in first


def test_malformed_codes_are_rejected():
    for bad in ("", "ABC", "U" * 20, "A" * 21, "<script>", None):
        assert receipts.code_hash(bad, "k") is None
