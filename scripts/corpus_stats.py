"""Print the composition tables of classifier/data/DATACARD.md from the corpus itself.

    .venv/bin/python scripts/corpus_stats.py
"""

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier._corpus import is_accented, load_corpus, train_heldout_split  # noqa: E402
from classifier.taxonomy import FLAGS, REPORT_TYPES, SECTORS, SUBJECTS  # noqa: E402


def table(title, rows, train, heldout):
    """``rows``: (label, predicate on an item) pairs."""
    print(f"| {title} | all | train | held-out |")
    print("|---|---:|---:|---:|")
    for label, test in rows:
        t = sum(bool(test(item)) for item in train)
        h = sum(bool(test(item)) for item in heldout)
        print(f"| {label} | {t + h:,} | {t:,} | {h:,} |")
    print()


def by_field(field, codes):
    """Rows for the items whose ``field`` is each code (a list field: contains it)."""
    def has(code):
        return lambda item: (code in item[field] if isinstance(item[field], list)
                             else item[field] == code)
    return [(f"`{code}`", has(code)) for code in codes]


def main() -> None:
    corpus = load_corpus()
    train, heldout = train_heldout_split(corpus)
    print(f"{len(corpus):,} reports: train {len(train):,}, held-out {len(heldout):,}\n")
    print("| part | reports |\n|---|---:|")
    for part, n in sorted(Counter(item["id"].split("-")[0] for item in corpus).items()):
        print(f"| {part} | {n:,} |")
    print()
    table("sector", by_field("sector", SECTORS), train, heldout)
    table("report type", by_field("report_type", REPORT_TYPES), train, heldout)
    table("subject", by_field("subject", SUBJECTS), train, heldout)
    table("other labels", [
        ("signs of a crime (`crime` true)", lambda i: i["crime"]),
        ("no signs of a crime", lambda i: not i["crime"]),
        ("typed with diacritics (`accented`)", is_accented),
        ("typed without diacritics", lambda i: not is_accented(i)),
        ("`needs_review`", lambda i: i["needs_review"]),
    ], train, heldout)
    table("flag", by_field("flags", FLAGS), train, heldout)
    voices = [v for v, _ in Counter(i.get("voice") for i in corpus).most_common()]
    table("voice", by_field("voice", voices), train, heldout)
    words = sorted(len(i["text"].split()) for i in corpus)
    print(f"words per report: min {words[0]}, median {words[len(words) // 2]}, "
          f"90th percentile {words[int(0.9 * len(words))]}, max {words[-1]}")


if __name__ == "__main__":
    main()
