"""Pilot runs behind the sentence-disjoint recipe (README, "The sentence-disjoint setting"): can the paper model
learn to READ signs on the SD split, and what makes it learn?

Renders the SD split (+ N recombined sentences, + isolated signs) with the project's synthetic renderer, trains the
project's model with a plain loop (AdamW, warmup + cosine over a WALL-CLOCK budget, length buckets, 1-in-3 random
frame sampling: the main job's recipe without the Trainer), and logs the SD test WER (first 400 clips) and the
reading check (300 fresh random sentences) every ``--eval-every`` seconds, then both on everything at the end. A wall
clock budget makes pilots comparable on a shared machine only roughly: each log line says its step.

    python benchmarks/sd_reading_pilot.py --name d16_r32k --recombine 32000 --budget-s 1500 --out OUT
    python benchmarks/sd_reading_pilot.py --name iso1 --recombine 16000 --max-glosses 1 --no-real --budget-s 900 --out OUT
    python benchmarks/sd_reading_pilot.py --name iso_then_r32k --recombine 32000 --init OUT/iso1.pt --budget-s 1800 --out OUT
    python benchmarks/sd_reading_pilot.py --name d64_iso_r32k --d-model 64 --recombine 32000 --iso 16000 --iso-s 600 \
        --budget-s 1800 --out OUT

Writes ``OUT/NAME.json`` (final scores and the log) and ``OUT/NAME.pt`` (+ ``.pt.vocab.json``: ``--init`` reads it).
The shipped recipe is ``python -m hub_scripts.reproduce --config sd`` (Trainer, validation, report).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from multiprocessing import Pool
from pathlib import Path

import jiwer
import numpy as np
import torch

from dataset_builder.gsl import load_split
from dataset_builder.synthetic import SyntheticGSL, recombined_clips
from hub_scripts.train import TrainOptions, build_model
from modeling_signattention import (
    SignAttentionConfig,
    SignAttentionFeatureExtractor,
    build_gloss_tokenizer,
)

RENDERER = SyntheticGSL(0, "body_hands")
FE = None


def _init():
    global FE
    cfg = SignAttentionConfig()
    FE = SignAttentionFeatureExtractor(
        cfg.landmark_components, cfg.num_coordinates, max_frames=cfg.max_source_positions
    )


def render(item):
    clip_id, glosses = item
    clip = RENDERER.clip(clip_id, glosses)
    return FE.preprocess(clip.pose), clip.gloss_spans


def wer(predictions: list[str], references: list[str]) -> float:
    return jiwer.wer(references, [prediction or "<empty>" for prediction in predictions])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--d-model", type=int, default=16)
    ap.add_argument("--recombine", type=int, default=8000)
    ap.add_argument("--method", default="random")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument(
        "--steps", type=int, default=1_000_000, help="at most this many steps (the budget usually ends first)"
    )
    ap.add_argument("--budget-s", type=float, default=420)
    ap.add_argument("--eval-every", type=float, default=60, help="seconds")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--out", default=".")
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument(
        "--max-glosses", type=int, default=0, help="cut recombined + check sentences to K glosses"
    )
    ap.add_argument("--iso", type=int, default=0, help="1-gloss clips for a first phase")
    ap.add_argument("--iso-s", type=float, default=0, help="seconds of the first phase (1-gloss clips only)")
    ap.add_argument("--init", default="", help="state dict .pt; its vocab in .pt.vocab.json")
    ap.add_argument("--no-real", action="store_true", help="train on recombined clips only")
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.time()
    train = load_split("sd", "train")
    test = load_split("sd", "test")
    extra = recombined_clips(train, args.recombine, args.method, 0) if args.recombine else []
    check = recombined_clips(train, 300, "random", 1)
    if args.max_glosses:
        extra = [
            c.__class__(c.id, c.scenario, c.signer, c.repetition, c.glosses[: args.max_glosses], "")
            for c in extra
        ]
        check = [
            c.__class__(c.id, c.scenario, c.signer, c.repetition, c.glosses[: args.max_glosses], "")
            for c in check
        ]
    real = [] if args.no_real else [(c.id, c.glosses) for c in train]
    train_items = real + [(c.id, c.glosses) for c in extra]
    iso_items = (
        [(c.id, c.glosses[:1]) for c in recombined_clips(train, args.iso, "random", 2)] if args.iso else []
    )
    test_items = [(c.id, c.glosses) for c in test]
    check_items = [(c.id, c.glosses) for c in check]
    with Pool(args.procs, initializer=_init) as pool:
        tr = pool.map(render, train_items, chunksize=64)
        te = pool.map(render, test_items, chunksize=64)
        ch = pool.map(render, check_items, chunksize=64)
        iso = pool.map(render, iso_items, chunksize=64)
    print(
        f"[{args.name}] rendered {len(tr)} train, {len(te)} test, {len(ch)} check in {time.time() - t0:.0f}s",
        flush=True,
    )
    _init()
    tok = build_gloss_tokenizer([" ".join(g) for _, g in train_items + iso_items])
    model, _ = build_model(  # the main job's model: hub_scripts.train builds it the same way
        TrainOptions(Path(args.out), Path(args.out), d_model=args.d_model, dropout=args.dropout),
        tok,
        "holistic",  # the synthetic corpus's layout
    )
    if args.init:
        old = torch.load(args.init, map_location="cpu")
        old_vocab = json.load(open(args.init + ".vocab.json"))
        new_vocab = tok.get_vocab()
        rows = torch.tensor(
            [old_vocab.get(t, old_vocab["<unk>"]) for t, _ in sorted(new_vocab.items(), key=lambda kv: kv[1])]
        )
        state = model.state_dict()
        for k, v in old.items():
            if v.shape == state[k].shape and v.shape[:1] != (len(old_vocab),):
                state[k] = v
            elif v.shape[:1] == (len(old_vocab),):
                state[k] = v[rows]
            else:
                print("skip", k, v.shape, state[k].shape)
        model.load_state_dict(state)
        print(f"[{args.name}] initialised from {args.init}", flush=True)
    model = model.to(dev)
    sets = {}
    for key, items, data in (("sent", train_items, tr), ("iso", iso_items, iso)):
        if items:
            lab = tok([" ".join(g) for _, g in items], truncation=True, max_length=20)["input_ids"]
            sets[key] = ([c for c, _ in data], lab, np.array([len(c) for c, _ in data], dtype=np.float64))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    def set_lr(
        progress,
    ):  # warmup 5 %, then cosine; progress = max(step share, wall-time share of the budget)
        factor = min(1.0, progress / 0.05) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        for group in opt.param_groups:
            group["lr"] = args.lr * max(factor, 1e-3)

    rng = np.random.default_rng(0)

    def batches(key):
        clips, labels, lengths = sets[key]
        while True:
            order = np.argsort(lengths + rng.random(len(lengths)))
            bs = [order[i : i + args.batch] for i in range(0, len(order), args.batch)]
            for b in rng.permutation(len(bs)):
                yield clips, labels, bs[b]

    def evaluate(data, items, limit=None):
        model.eval()
        data, items = data[:limit], items[:limit]
        preds = []
        with torch.no_grad():
            for i in range(0, len(data), 256):
                feat = FE.sample_and_pad([c for c, _ in data[i : i + 256]], training=False)
                out = model.generate(
                    input_features=feat["input_features"].to(dev),
                    attention_mask=feat["attention_mask"].to(dev),
                    num_beams=1,
                )
                preds += tok.batch_decode(out, skip_special_tokens=True)
        model.train()
        refs = [" ".join(g) for _, g in items]
        return (
            wer(preds, refs),
            sum(p == r for p, r in zip(preds, refs, strict=True)) / len(refs),
            preds[:3],
            refs[:3],
        )

    log = []
    its = {key: batches(key) for key in sets}
    model.train()
    start = time.time()
    step, losses = 0, []
    last_eval = start
    while step < args.steps and time.time() - start < args.budget_s:
        phase = "iso" if "iso" in sets and time.time() - start < args.iso_s else "sent"
        clips, labels, idx = next(its[phase])
        feat = FE.sample_and_pad([clips[i] for i in idx], training=True, seed=int(rng.integers(2**32)))
        longest = max(len(labels[i]) for i in idx)
        lab = torch.full((len(idx), longest), -100, dtype=torch.long)
        for r, i in enumerate(idx):
            lab[r, : len(labels[i])] = torch.tensor(labels[i])
        out = model(
            input_features=feat["input_features"].to(dev, non_blocking=True),
            attention_mask=feat["attention_mask"].to(dev, non_blocking=True),
            labels=lab.to(dev, non_blocking=True),
        )
        set_lr(max(step / args.steps, (time.time() - start) / args.budget_s))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(out.loss.item())
        step += 1
        if time.time() - last_eval > args.eval_every:
            last_eval = time.time()
            w, ex, p, r = evaluate(te, test_items, 400)
            cw, cex, _, _ = evaluate(ch, check_items, 300)
            entry = {
                "step": step,
                "s": round(time.time() - start),
                "loss": float(np.mean(losses[-200:])),
                "sd_test_wer_400": w,
                "sd_exact": ex,
                "reading_wer": cw,
            }
            log.append(entry)
            print(f"[{args.name}] {entry} pred {p[0]!r} ref {r[0]!r}", flush=True)
    w, ex, p, r = evaluate(te, test_items)
    cw, cex, _, _ = evaluate(ch, check_items)
    final = {
        "name": args.name,
        "args": vars(args),
        "steps": step,
        "train_s": round(time.time() - start),
        "loss": float(np.mean(losses[-200:])),
        "sd_test_wer": w,
        "sd_exact": ex,
        "reading_wer": cw,
        "examples": list(zip(p, r, strict=True)),
        "log": log,
    }
    print(
        f"[{args.name}] FINAL {json.dumps({k: v for k, v in final.items() if k not in ('log', 'args')})}",
        flush=True,
    )
    json.dump(final, open(os.path.join(args.out, f"{args.name}.json"), "w"), indent=1)
    torch.save(model.state_dict(), os.path.join(args.out, f"{args.name}.pt"))
    json.dump(tok.get_vocab(), open(os.path.join(args.out, f"{args.name}.pt.vocab.json"), "w"))


if __name__ == "__main__":
    main()
