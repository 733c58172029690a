"""Fine-tune multilingual-e5-small (top K layers + linear sector head) on the training split.

Run: nice -n 19 .venv/bin/python bench/finetune_e5/train.py

Protocol (adapted to the CPU budget, see the log):
* texts: "query: " + normalize(text) (NFC); max_length 128; mean pooling; linear head -> 15 sectors.
* training split only (held-out never seen); 10 % of it (stratified by sector, seed 0) is the
  validation set for early stopping.
* each training report as typed, plus a copy with the diacritics stripped (case kept) when the
  report is accented (for an unaccented report the copy is identical, so it is not duplicated).
* embeddings and the lower 12-K layers are frozen; their output is computed once and cached, so
  training runs only the top K layers (exactly equivalent: frozen layers run in eval mode).
* AdamW lr 3e-5 (encoder) / 1e-3 (head), wd 0.01, batch 16, linear warm-up 6 % then decay,
  balanced class weights, up to 3 epochs or the time budget, validation every half epoch.
"""

from __future__ import annotations

import json
import math
import os
import random
import resource
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import numpy as np
import torch

torch.set_num_threads(2)
torch.manual_seed(0)
from sklearn.metrics import f1_score
from transformers import AutoModel, AutoTokenizer

from classifier._convert import ensure_encoder
from classifier._corpus import is_accented, load_corpus, train_heldout_split
from classifier.normalize import normalize

OUT = ROOT / "instance" / "experiments" / "ft_e5"
K = int(os.environ.get("FT_TOP_LAYERS", "4"))
MAX_LEN = int(os.environ.get("FT_MAX_LEN", "128"))
EPOCHS = float(os.environ.get("FT_EPOCHS", "3"))
BUDGET = float(os.environ.get("FT_TRAIN_BUDGET_S", "1500"))  # training-loop wall budget
BATCH = 16
LR_ENC = float(os.environ.get("FT_LR_ENC", "1e-4"))
LR_HEAD = float(os.environ.get("FT_LR_HEAD", "1e-3"))
STANDARDIZE = os.environ.get("FT_STANDARDIZE", "1") == "1"
T0 = time.time()


def log(msg: str) -> None:
    line = f"[{time.time() - T0:7.1f}s] {msg}"
    print(line, flush=True)
    with open(OUT / "train.log", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def strip_marks(text: str) -> str:
    """Remove Vietnamese tone/vowel marks and đ->d, keeping case (fold() also lowercases)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    nfd = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in nfd if unicodedata.category(c) != "Mn"))


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    (OUT / "train.log").unlink(missing_ok=True)
    log(f"K={K} trainable top layers, max_len={MAX_LEN}, epochs<={EPOCHS}, budget {BUDGET}s, lr {LR_ENC}/{LR_HEAD}, std {STANDARDIZE}, "
        f"loadavg {os.getloadavg()}")
    path = ensure_encoder(ROOT / "instance/models/multilingual-e5-small")
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    n_layers = len(model.encoder.layer)
    all_layers = model.encoder.layer
    lower = torch.nn.ModuleList(all_layers[: n_layers - K])
    top = torch.nn.ModuleList(all_layers[n_layers - K :])

    items = load_corpus()
    train, heldout = train_heldout_split(items)
    codes = sorted({it["sector"] for it in items})
    cidx = {c: i for i, c in enumerate(codes)}

    # stratified 10 % validation from the training split
    rng = random.Random(0)
    by_sec: dict[str, list[dict]] = {}
    for it in train:
        by_sec.setdefault(it["sector"], []).append(it)
    val, fit = [], []
    for sec in sorted(by_sec):
        group = by_sec[sec][:]
        rng.shuffle(group)
        nv = max(1, round(0.1 * len(group)))
        val += group[:nv]
        fit += group[nv:]
    log(f"train split {len(train)} -> fit {len(fit)} / val {len(val)}; held-out {len(heldout)}")

    # samples: (text, label, group)
    samples: list[tuple[str, int, str]] = []
    for it in fit:
        t = normalize(it["text"])
        samples.append((t, cidx[it["sector"]], "fit"))
        if is_accented(it):
            s = strip_marks(t)
            if s != t:
                samples.append((s, cidx[it["sector"]], "fit"))
    n_fit = len(samples)
    for it in val:
        samples.append((normalize(it["text"]), cidx[it["sector"]], "val"))
    for it in heldout:
        samples.append((normalize(it["text"]), cidx[it["sector"]], "heldout"))
    log(f"fit samples {n_fit} (typed + stripped copies of accented reports)")

    enc = [tok("query: " + t, truncation=False)["input_ids"] for t, _, _ in samples]
    lens = np.array([len(e) for e in enc])
    groups = np.array([g for _, _, g in samples])
    trunc = {g: float((lens[groups == g] > MAX_LEN).mean()) for g in ("fit", "val", "heldout")}
    log(f"truncated at {MAX_LEN}: {trunc}")
    ids = [e[: MAX_LEN - 1] + [e[-1]] if len(e) > MAX_LEN else e for e in enc]  # keep </s>
    labels = torch.tensor([y for _, y, _ in samples])

    # ---- cache the output of the frozen lower layers (embeddings + 12-K layers)
    cache: list[torch.Tensor] = [None] * len(ids)  # type: ignore[list-item]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    model.encoder.layer = lower
    t_cache = time.time()
    with torch.inference_mode():
        for bstart in range(0, len(order), 32):
            rows = order[bstart : bstart + 32]
            L = max(len(ids[i]) for i in rows)
            x = torch.full((len(rows), L), tok.pad_token_id, dtype=torch.long)
            m = torch.zeros((len(rows), L), dtype=torch.long)
            for j, i in enumerate(rows):
                x[j, : len(ids[i])] = torch.tensor(ids[i])
                m[j, : len(ids[i])] = 1
            h = model(input_ids=x, attention_mask=m).last_hidden_state
            for j, i in enumerate(rows):
                cache[i] = h[j, : len(ids[i])].clone()
            if (bstart // 32) % 10 == 0:
                done = bstart + len(rows)
                el = time.time() - t_cache
                log(f"cache {done}/{len(order)} {el:.0f}s (proj {el / done * len(order):.0f}s)")
    model.encoder.layer = all_layers
    log(f"cache done in {time.time() - t_cache:.0f}s; rss {rss_mib():.0f} MiB")

    head = torch.nn.Linear(model.config.hidden_size, len(codes))
    torch.nn.init.normal_(head.weight, std=0.02)
    torch.nn.init.zeros_(head.bias)
    # fixed standardisation of the pooled vector (mean/std over the fit set under the initial
    # weights): e5's mean-pooled states share one large common direction, and a linear head on
    # the raw vectors learnt almost nothing in 1.3 epochs of run 1 (val macro-F1 0.28).
    mu = torch.zeros(model.config.hidden_size)
    sd = torch.ones(model.config.hidden_size)

    def forward_top(rows: list[int], train_mode: bool, return_pooled: bool = False) -> torch.Tensor:
        L = max(len(ids[i]) for i in rows)
        h = torch.zeros((len(rows), L, model.config.hidden_size))
        m = torch.zeros((len(rows), L), dtype=torch.long)
        for j, i in enumerate(rows):
            h[j, : len(ids[i])] = cache[i]
            m[j, : len(ids[i])] = 1
        mask4, _ = model._create_attention_masks(
            attention_mask=m, encoder_attention_mask=None, embedding_output=h,
            encoder_hidden_states=None, past_key_values=None,
        )
        top.train(train_mode)
        for layer in top:
            h = layer(h, mask4)
        w = m.unsqueeze(-1).to(h.dtype)
        pooled = (h * w).sum(1) / w.sum(1).clamp(min=1e-9)
        if return_pooled:
            return pooled
        return head((pooled - mu) / sd)

    def predict(idx: list[int]) -> np.ndarray:
        out = np.zeros((len(idx), len(codes)), dtype=np.float32)
        o = sorted(range(len(idx)), key=lambda k: len(ids[idx[k]]))
        with torch.inference_mode():
            for s in range(0, len(o), 32):
                ks = o[s : s + 32]
                out[ks] = torch.softmax(forward_top([idx[k] for k in ks], False), -1).numpy()
        return out

    fit_idx = [i for i in range(len(samples)) if groups[i] == "fit"]
    val_idx = [i for i in range(len(samples)) if groups[i] == "val"]
    ho_idx = [i for i in range(len(samples)) if groups[i] == "heldout"]
    if STANDARDIZE:
        with torch.inference_mode():
            feats = torch.cat([forward_top(fit_idx[s : s + 32], False, True)
                               for s in range(0, len(fit_idx), 32)])
        mu.copy_(feats.mean(0))
        sd.copy_(feats.std(0).clamp(min=1e-6))
        log(f"standardisation stats from {len(feats)} fit samples; mean |mu| {mu.abs().mean():.3f}, "
            f"mean sd {sd.mean():.3f}, norm of mean {mu.norm():.2f}")
    counts = Counter(labels[fit_idx].tolist())
    cw = torch.tensor([len(fit_idx) / (len(codes) * counts[c]) for c in range(len(codes))],
                      dtype=torch.float32)

    for p in top.parameters():
        p.requires_grad_(True)
    enc_params = [p for p in top.parameters()]
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n  # noqa: E731
    named = list(top.named_parameters())
    opt = torch.optim.AdamW(
        [
            {"params": [p for n, p in named if not no_decay(n)], "lr": LR_ENC, "weight_decay": 0.01},
            {"params": [p for n, p in named if no_decay(n)], "lr": LR_ENC, "weight_decay": 0.0},
            {"params": list(head.parameters()), "lr": LR_HEAD, "weight_decay": 0.01},
        ]
    )
    steps_per_epoch = math.ceil(len(fit_idx) / BATCH)
    plan = {"total": int(EPOCHS * steps_per_epoch)}
    warm = lambda: max(1, int(0.06 * plan["total"]))  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm(), max(0.0, (plan["total"] - s) / max(1, plan["total"] - warm())))
    )
    log(f"trainable encoder params {sum(p.numel() for p in enc_params) / 1e6:.1f}M; "
        f"{steps_per_epoch} steps/epoch, plan {plan['total']} steps")

    def batches(epoch: int) -> list[list[int]]:
        r = random.Random(100 + epoch)
        idx = fit_idx[:]
        r.shuffle(idx)
        out = []
        for s in range(0, len(idx), BATCH * 20):
            chunk = sorted(idx[s : s + BATCH * 20], key=lambda i: len(ids[i]))
            out += [chunk[k : k + BATCH] for k in range(0, len(chunk), BATCH)]
        r.shuffle(out)
        return out

    def evaluate_val(tag: str) -> float:
        p = predict(val_idx)
        f = f1_score(labels[val_idx].numpy(), p.argmax(1), average="macro")
        log(f"{tag}: val macro-F1 {f:.3f} acc {(p.argmax(1) == labels[val_idx].numpy()).mean():.3f}")
        return f

    best = {"f1": -1.0, "step": 0}
    history = []
    t_train = time.time()
    step = 0
    stop = False
    epoch = 0
    while not stop and step < plan["total"]:
        bl = batches(epoch)
        half = len(bl) // 2
        run_loss = 0.0
        for bi, rows in enumerate(bl):
            logits = forward_top(rows, True)
            loss = torch.nn.functional.cross_entropy(logits, labels[rows], weight=cw)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(enc_params + list(head.parameters()), 1.0)
            opt.step()
            sched.step()
            step += 1
            run_loss += loss.item()
            el = time.time() - t_train
            if step == 20:
                per = el / 20
                fit_steps = int(BUDGET * 0.92 / per)  # leave room for validation passes
                if fit_steps < plan["total"]:
                    plan["total"] = fit_steps
                    log(f"{per:.2f}s/step: {EPOCHS} epochs do not fit the budget; plan cut to "
                        f"{fit_steps} steps ({fit_steps / steps_per_epoch:.2f} epochs)")
                else:
                    log(f"{per:.2f}s/step; plan {plan['total']} steps fits")
            if step % 20 == 0:
                log(f"ep {epoch} step {step}/{plan['total']} loss {run_loss / (bi + 1):.3f} "
                    f"lr {sched.get_last_lr()[0]:.2e} {el:.0f}s")
            at_eval = bi == half - 1 or bi == len(bl) - 1 or step >= plan["total"]
            if at_eval:
                f = evaluate_val(f"epoch {epoch} batch {bi + 1}/{len(bl)} step {step}")
                history.append({"step": step, "epoch": epoch + (bi + 1) / len(bl), "val_f1": f,
                                "time_s": time.time() - t_train})
                if f > best["f1"]:
                    best = {"f1": f, "step": step, "epoch": epoch + (bi + 1) / len(bl)}
                    torch.save({"top": {k: v.clone() for k, v in top.state_dict().items()},
                                "head": head.state_dict(), "mu": mu.clone(), "sd": sd.clone(), "K": K, "codes": codes,
                                "max_len": MAX_LEN}, OUT / "best.pt")
            if step >= plan["total"] or time.time() - t_train > BUDGET:
                stop = True
                break
        epoch += 1
    train_time = time.time() - t_train
    log(f"training loop {train_time:.0f}s, {step} steps; best {best}; rss {rss_mib():.0f} MiB")

    ck = torch.load(OUT / "best.pt")
    top.load_state_dict(ck["top"])
    head.load_state_dict(ck["head"])
    p_val = predict(val_idx)
    p_ho = predict(ho_idx)
    np.save(OUT / "heldout_proba.npy", p_ho)
    ho_ids = [it["id"] for it in heldout]
    y = labels[ho_idx].numpy()
    pred = p_ho.argmax(1)
    acc_mask = np.array([is_accented(it) for it in heldout])
    res = {
        "K": K, "max_len": MAX_LEN, "truncation": trunc, "fit_samples": n_fit,
        "cache_s": None, "train_loop_s": train_time, "steps": step, "best": best,
        "history": history, "peak_rss_train_mib": rss_mib(), "codes": codes,
        "val_f1": float(f1_score(labels[val_idx].numpy(), p_val.argmax(1), average="macro")),
    }
    for name, msk in (("all", np.ones_like(acc_mask)), ("accented", acc_mask), ("unaccented", ~acc_mask)):
        res[f"heldout_{name}"] = {
            "n": int(msk.sum()),
            "macro_f1": float(f1_score(y[msk], pred[msk], average="macro", labels=sorted(set(y[msk].tolist())), zero_division=0)),
            "acc": float((y[msk] == pred[msk]).mean()),
        }
    res["per_class_f1"] = dict(zip(codes, map(float, f1_score(y, pred, average=None, labels=list(range(len(codes)))))))
    (OUT / "heldout_ids.json").write_text(json.dumps(ho_ids))
    (OUT / "results_train.json").write_text(json.dumps(res, indent=1))
    log(json.dumps({k: res[k] for k in ("heldout_all", "heldout_accented", "heldout_unaccented", "val_f1")}))
    log(f"total {time.time() - T0:.0f}s")


if __name__ == "__main__":
    main()
