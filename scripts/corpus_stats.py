"""Print the composition tables of classifier/data/DATACARD.md from the corpus itself.

    .venv/bin/python scripts/corpus_stats.py
"""

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier._corpus import is_accented, load_corpus, train_heldout_split  # noqa: E402
from classifier.taxonomy import FLAGS, REPORT_TYPES, SECTORS, SUBJECTS  # noqa: E402


def table(title, codes, key, train, heldout):
    print(f"| {title} | all | train | held-out |")
    print("|---|---:|---:|---:|")
    for code in codes:
        t = sum(key(item, code) for item in train)
        h = sum(key(item, code) for item in heldout)
        print(f"| {code} | {t + h:,} | {t:,} | {h:,} |")
    print()


def main() -> None:
    corpus = load_corpus()
    train, heldout = train_heldout_split(corpus)
    print(f"{len(corpus):,} reports: train {len(train):,}, held-out {len(heldout):,}\n")
    print("| part | reports |\n|---|---:|")
    for part, n in sorted(Counter(item["id"].split("-")[0] for item in corpus).items()):
        print(f"| {part} | {n:,} |")
    print()
    table("sector", [f"`{c}`" for c in SECTORS], lambda i, c: i["sector"] == c.strip("`"),
          train, heldout)
    table("report type", [f"`{c}`" for c in REPORT_TYPES],
          lambda i, c: i["report_type"] == c.strip("`"), train, heldout)
    table("subject", [f"`{c}`" for c in SUBJECTS], lambda i, c: i["subject"] == c.strip("`"),
          train, heldout)
    other = {
        "signs of a crime (`crime` true)": lambda i: i["crime"],
        "no signs of a crime": lambda i: not i["crime"],
        "typed with diacritics (`accented`)": is_accented,
        "typed without diacritics": lambda i: not is_accented(i),
        "`needs_review`": lambda i: i["needs_review"],
    }
    table("other labels", list(other), lambda i, c: bool(other[c](i)), train, heldout)
    table("flag", [f"`{c}`" for c in FLAGS], lambda i, c: c.strip("`") in i["flags"],
          train, heldout)
    voices = [v for v, _ in Counter(i.get("voice") for i in corpus).most_common()]
    table("voice", [f"`{v}`" for v in voices], lambda i, c: i.get("voice") == c.strip("`"),
          train, heldout)
    words = sorted(len(i["text"].split()) for i in corpus)
    print(f"words per report: min {words[0]}, median {words[len(words) // 2]}, "
          f"90th percentile {words[int(0.9 * len(words))]}, max {words[-1]}")


if __name__ == "__main__":
    main()
