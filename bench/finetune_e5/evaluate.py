"""Evaluate the fine-tuned e5 sector model (best.pt from train.py) as a complete model.

Run: nice -n 19 .venv/bin/python bench/finetune_e5/evaluate.py

Loads the converted e5 folder, overrides the top K layers with the fine-tuned weights, and on the
held-out split measures: macro-F1 / accuracy (all, accented, unaccented), per-class F1,
throughput for batches of 32 reports, p50 single-report latency (2 threads), peak RSS, and the
0.5/0.5 average with the lexical model's sector probabilities.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import numpy as np
import torch

torch.set_num_threads(2)
from sklearn.metrics import f1_score

OUT = ROOT / "instance" / "experiments" / "ft_e5"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def metrics(y, pred, acc_mask, codes):
    res = {}
    for name, msk in (("all", np.ones_like(acc_mask)), ("accented", acc_mask), ("unaccented", ~acc_mask)):
        present = sorted(set(y[msk].tolist()))
        res[name] = {
            "macro_f1": round(float(f1_score(y[msk], pred[msk], average="macro", labels=present, zero_division=0)), 3),
            "acc": round(float((y[msk] == pred[msk]).mean()), 3),
        }
    res["per_class_f1"] = {
        c: round(float(f), 3)
        for c, f in zip(codes, f1_score(y, pred, average=None, labels=list(range(len(codes))), zero_division=0))
    }
    return res


def main() -> None:
    t0 = time.time()
    from transformers import AutoModel, AutoTokenizer

    from classifier._corpus import is_accented, load_corpus, train_heldout_split
    from classifier.normalize import normalize

    path = ROOT / "instance" / "models" / "multilingual-e5-small"
    ck = torch.load(OUT / "best.pt")
    K, codes, max_len = ck["K"], ck["codes"], ck["max_len"]
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)
    n = len(model.encoder.layer)
    torch.nn.ModuleList(model.encoder.layer[n - K :]).load_state_dict(ck["top"])
    head = torch.nn.Linear(model.config.hidden_size, len(codes))
    head.load_state_dict(ck["head"])
    model.eval()
    load_s = time.time() - t0 - 0  # includes imports

    def proba(texts: list[str]) -> np.ndarray:
        b = tok(["query: " + t for t in texts], padding=True, truncation=True,
                max_length=max_len, return_tensors="pt")
        with torch.inference_mode():
            h = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
            w = b["attention_mask"].unsqueeze(-1).to(h.dtype)
            pooled = (h * w).sum(1) / w.sum(1).clamp(min=1e-9)
            return torch.softmax(head((pooled - ck["mu"]) / ck["sd"]), -1).numpy()

    _, heldout = train_heldout_split(load_corpus())
    texts = [normalize(it["text"]) for it in heldout]
    y = np.array([codes.index(it["sector"]) for it in heldout])
    acc_mask = np.array([is_accented(it) for it in heldout])
    words = np.mean([len(t.split()) for t in texts])

    proba(texts[:4])  # warm-up
    # throughput: held-out in its file order, batches of 32 (padding to the longest in the batch)
    t = time.perf_counter()
    P = np.concatenate([proba(texts[s : s + 32]) for s in range(0, len(texts), 32)])
    batch_s = time.perf_counter() - t
    # single-report latency on 60 reports (every 7th held-out report)
    lat = []
    for t_ in texts[::7][:60]:
        s = time.perf_counter()
        proba([t_])
        lat.append(time.perf_counter() - s)
    rss_enc = rss_mib()
    cached = np.load(OUT / "heldout_proba.npy")
    diff = float(np.abs(cached - P).max())

    from classifier import ReportClassifier

    lex = ReportClassifier.load()
    lex_codes = list(lex.classes_["sector"])
    L = lex.predict_proba([it["text"] for it in heldout])["sector"][:, [lex_codes.index(c) for c in codes]]
    # cross-check with predict()'s ranked scores on a few reports
    ranked = lex.predict(heldout[:5])
    assert all(r["sector"]["code"] == codes[int(L[i].argmax())] for i, r in enumerate(ranked))

    res = {
        "load_s_incl_imports": round(load_s, 1),
        "heldout_n": len(texts), "heldout_accented": int(acc_mask.sum()),
        "mean_words": round(float(words), 1),
        "batch32_reports_per_s": round(len(texts) / batch_s, 1),
        "single_p50_ms": round(1000 * float(np.median(lat)), 1),
        "single_p90_ms": round(1000 * float(np.percentile(lat, 90)), 1),
        "peak_rss_mib_encoder_only": round(rss_enc),
        "peak_rss_mib_with_lexical": round(rss_mib()),
        "max_abs_diff_vs_training_cache": diff,
        "loadavg": os.getloadavg(),
        "finetuned": metrics(y, P.argmax(1), acc_mask, codes),
        "lexical": metrics(y, L.argmax(1), acc_mask, codes),
    }
    for w in (0.5, 0.25, 0.75):
        res[f"avg_w_ft_{w}"] = metrics(y, (w * P + (1 - w) * L).argmax(1), acc_mask, codes)
    (OUT / "results_eval.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
