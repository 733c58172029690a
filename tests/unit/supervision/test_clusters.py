"""Grouping reports about the same matter (portal/supervision/clusters.py), on plain data.

The functions see only sets of opaque tokens; here the tokens are the folded words themselves
(the index stores their keyed hashes, which compare the same way).
"""

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.protection.search import words
from portal.supervision.clusters import (
    STOP_WORDS,
    Item,
    Settings,
    component_of,
    group,
    jaccard,
    linked,
)

AN_KHANH, BA_BE = 5809, 1906  # two communes of Thái Nguyên (province 19)
T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)

ROAD = ("Chủ tịch UBND xã An Khánh ông Lường Văn Toản chỉ đạo thu của mỗi hộ dân thôn Đồng Mỏ "
        "5 triệu đồng tiền làm đường bê tông liên thôn, nhưng không có biên lai, không họp dân, "
        "đường làm xong đã nứt vỡ sau hai tháng.")
ROAD_NO_ACCENTS = ("Chu tich UBND xa An Khanh ong Luong Van Toan chi dao thu cua moi ho dan thon "
                   "Dong Mo 5 trieu dong tien lam duong be tong lien thon, nhung khong co bien "
                   "lai, khong hop dan, duong lam xong da nut vo sau hai thang.")
ROAD_NEIGHBOUR = ("Kính gửi Mặt trận. Chủ tịch UBND xã An Khánh Lường Văn Toản bắt mỗi hộ dân "
                  "thôn Đồng Mỏ nộp 5 triệu đồng tiền làm đường bê tông liên thôn, không có biên "
                  "lai, không họp dân, đường làm xong đã nứt vỡ.")
CLINIC = ("Trạm y tế xã An Khánh thu tiền khám của người có thẻ bảo hiểm y tế, mỗi lần khám phải "
          "đóng thêm 50 nghìn đồng, thuốc cấp thiếu so với đơn, y sĩ trực thường xuyên vắng mặt "
          "ban đêm.")
LAND = ("Cán bộ địa chính xã An Khánh nhận 30 triệu đồng của gia đình tôi để làm nhanh giấy chứng "
        "nhận quyền sử dụng đất cho thửa 200m2 ở thôn Khe Vàng nhưng đến nay vẫn chưa cấp, hỏi thì "
        "bảo chờ.")


def tokens(text: str) -> frozenset:
    return frozenset(words(text)) - STOP_WORDS


def item(report_id, text, *, ward=AN_KHANH, province=19, days=0, sector=None, subject=None):
    return Item(id=report_id, created_at=T0 + timedelta(days=days), province_code=province,
                ward_code=ward, sector=sector, subject=subject, tokens=tokens(text))


SETTINGS = Settings()


def test_a_copy_without_diacritics_is_the_same_report():
    assert tokens(ROAD) == tokens(ROAD_NO_ACCENTS)
    assert jaccard(tokens(ROAD), tokens(ROAD_NEIGHBOUR)) >= SETTINGS.min_similarity


def test_copies_of_one_matter_cluster_and_unrelated_reports_do_not():
    items = [item(1, ROAD), item(2, CLINIC, days=1), item(3, ROAD_NO_ACCENTS, days=2),
             item(4, LAND, days=3), item(5, ROAD_NEIGHBOUR, days=4)]
    assert group(items, SETTINGS) == [[1, 3, 5]]
    # Unrelated reports of the same commune share its name and the usual words, not enough.
    for a, b in itertools.combinations((ROAD, CLINIC, LAND), 2):
        assert jaccard(tokens(a), tokens(b)) < 0.2


def test_the_same_text_in_two_communes_is_two_matters():
    items = [item(1, ROAD), item(2, ROAD, ward=BA_BE), item(3, ROAD, ward=None),
             item(4, ROAD, province=None, ward=None)]
    assert group(items, SETTINGS) == []
    # Both without a commune (same province): one block.
    assert group([item(1, ROAD, ward=None), item(2, ROAD_NO_ACCENTS, ward=None)],
                 SETTINGS) == [[1, 2]]


def test_reports_filed_more_than_the_window_apart_are_not_linked():
    window = SETTINGS.window_days
    assert group([item(1, ROAD), item(2, ROAD, days=window + 1)], SETTINGS) == []
    # …but a chain of reports each within the window is one matter that went on.
    chain = [item(1, ROAD), item(2, ROAD, days=window - 1), item(3, ROAD, days=2 * window - 2)]
    assert group(chain, SETTINGS) == [[1, 2, 3]]


def test_sector_and_subject_must_agree_when_known():
    assert group([item(1, ROAD, sector="construction_investment"),
                  item(2, ROAD_NO_ACCENTS, sector="land")], SETTINGS) == []
    assert group([item(1, ROAD, subject="official"),
                  item(2, ROAD_NO_ACCENTS, subject="ordinary")], SETTINGS) == []
    # Unknown on one side is no contradiction.
    assert group([item(1, ROAD, sector="construction_investment", subject="official"),
                  item(2, ROAD_NO_ACCENTS)], SETTINGS) == [[1, 2]]


def test_short_texts_never_cluster():
    items = [item(1, "alo alo có ai không"), item(2, "alo có ai ko"), item(3, "test 123"),
             item(4, "test")]
    assert group(items, SETTINGS) == []


def test_linked_is_symmetric_and_thresholded():
    a, b = item(1, ROAD), item(2, ROAD_NEIGHBOUR, days=3)
    assert linked(a, b, SETTINGS) and linked(b, a, SETTINGS)
    assert not linked(a, b, Settings(min_similarity=0.95))


def test_largest_cluster_first():
    items = [item(1, CLINIC), item(2, CLINIC, days=1), item(3, ROAD), item(4, ROAD, days=1),
             item(5, ROAD_NO_ACCENTS, days=2)]
    assert group(items, SETTINGS) == [[3, 4, 5], [1, 2]]


def _brute_force(items, settings):
    """Every pair compared: the reference the prefix filter must match exactly."""
    eligible = [i for i in items if len(i.tokens) >= settings.min_words]
    parent = {i.id: i.id for i in eligible}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in itertools.combinations(eligible, 2):
        if (a.province_code, a.ward_code) == (b.province_code, b.ward_code) \
                and linked(a, b, settings):
            parent[find(a.id)] = find(b.id)
    components = {}
    for i in eligible:
        components.setdefault(find(i.id), []).append(i)
    return sorted(sorted(i.id for i in members) for members in components.values()
                  if len(members) > 1)


CORPUS = Path(__file__).resolve().parents[3] / "classifier" / "data" / "corpus"


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_the_prefix_filter_finds_exactly_what_comparing_every_pair_finds(threshold):
    """Real report texts (the classifier's corpus), with edited copies mixed in, spread over
    three communes and sixty days: the filtered search and the brute force agree."""
    rng = random.Random(threshold)  # noqa: S311 (reproducible test data, not secrets)
    texts = [json.loads(line)["text"] for path in sorted(CORPUS.glob("part_*.jsonl"))
             for line in path.open(encoding="utf-8")]
    texts = rng.sample(texts, 150)
    for text in rng.sample(texts, 40):  # near-duplicates: drop a few words, add a few
        kept = [w for w in text.split() if rng.random() > 0.15]
        texts.append(" ".join(kept + ["thêm", "ý", "kiến", str(rng.randint(1, 99))]))
    items = [item(n, text, ward=rng.choice((AN_KHANH, BA_BE, None)), days=rng.randint(0, 60),
                  sector=rng.choice((None, None, "land")))
             for n, text in enumerate(texts, start=1)]
    settings = Settings(min_similarity=threshold)
    found = sorted(sorted(ids) for ids in group(items, settings))
    assert found == _brute_force(items, settings)
    # The case page's walk from one report finds that report's cluster, or nothing.
    cluster_of = {report_id: sorted(ids) for ids in found for report_id in ids}
    for one in rng.sample(items, 40) + [items[i - 1] for ids in found[:5] for i in ids]:
        assert sorted(component_of(one.id, items, settings)) == cluster_of.get(one.id, [])
    if threshold == 0.5:
        assert found  # the edited copies are found
