"""The labelled corpus meets what the classifier issue asks of it (classifier/data/DATACARD.md)."""

from collections import Counter

import pytest

from classifier._corpus import (
    UNSEEN_CHECK_PATH,
    is_accented,
    is_heldout,
    load_corpus,
    read_jsonl,
    train_heldout_split,
)
from classifier.taxonomy import FLAGS, REPORT_TYPES, SECTORS, SUBJECTS


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_size_and_unique_ids(corpus):
    ids = [item["id"] for item in corpus]
    assert len(corpus) >= 2000
    assert len(set(ids)) == len(ids)


def test_every_sector_has_at_least_60_reports_and_every_type_appears(corpus):
    sectors = Counter(item["sector"] for item in corpus)
    assert set(sectors) == set(SECTORS)
    assert min(sectors.values()) >= 60, sectors
    assert set(item["report_type"] for item in corpus) == set(REPORT_TYPES)


def test_labels_are_taxonomy_codes(corpus):
    for item in corpus:
        assert item["sector"] in SECTORS, item["id"]
        assert item["report_type"] in REPORT_TYPES, item["id"]
        assert item["subject"] in SUBJECTS, item["id"]
        assert set(item["flags"]) <= set(FLAGS), item["id"]
        assert isinstance(item["crime"], bool), item["id"]
        assert bool(item["articles"]) <= item["crime"], item["id"]


def test_at_least_a_third_is_typed_without_diacritics(corpus):
    unaccented = sum(not is_accented(item) for item in corpus)
    assert unaccented >= len(corpus) / 3


def test_negatives_are_there(corpus):
    voices = Counter(item.get("voice") for item in corpus)
    assert voices["negative"] >= 50
    assert sum(item["needs_review"] for item in corpus) >= 20


def test_evidence_quotes_the_text(corpus):
    for item in corpus:
        for phrase in item.get("evidence") or []:
            assert phrase in item["text"], (item["id"], phrase)


def test_heldout_split_is_fixed_by_id_and_about_a_fifth(corpus):
    train, heldout = train_heldout_split(corpus)
    assert {i["id"] for i in heldout} == {i["id"] for i in corpus if is_heldout(i["id"])}
    assert 0.15 < len(heldout) / len(corpus) < 0.25
    # A pure function of the id: the split of a report does not depend on the others.
    assert train_heldout_split(list(reversed(corpus)))[1][::-1] == heldout


def test_unseen_check_set_is_separate_from_the_corpus(corpus):
    unseen = read_jsonl(UNSEEN_CHECK_PATH)
    assert len(unseen) >= 80
    texts = {item["text"] for item in corpus}
    # One-word negatives ("alo") may occur in both; no real report may.
    assert not [item["id"] for item in unseen if item["text"] in texts and len(item["text"]) > 20]
