"""Cross-validated entity scores on the TRAIN split: the NER is trained on k-1 folds of the train
letters, and the whole pipeline (rules + that NER) is scored on the held-out fold.

    .venv/bin/python benchmarks/entity_cv.py [--folds 3] [--seed 0] [--show-mismatches]

Why: the default model's NER has seen every train letter, so scoring it on them flatters it, and
the test split is for the final figures only. This script gives held-out figures to develop the
entity rules and lexicons on, without looking at the test letters. It retrains the NER once per
fold (about 2.5 min each on 2 cores); folds keep whole letters together (seeded shuffle).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imr_nlp.evaluate import find_letter, format_report, read_gold, score  # noqa: E402
from imr_nlp.letter import Letter  # noqa: E402
from imr_nlp.pipeline import build_pipeline, with_entity_model  # noqa: E402
from imr_nlp.sources import corpus_letters, letter_text  # noqa: E402
from imr_nlp.training import DOUBLE_SPACED_FRACTION, double_spaced, mention_regex, train_entities  # noqa: E402

GOLD = ROOT / "data" / "gold" / "dwc-imr-2017.jsonl"
SPLITS = ROOT / "data" / "splits.json"
CORPUS = Path(os.environ.get("IMR_SHARED", ROOT.parent / "shared")) / "corpus" / "dwc-imr-2017" / "txt"


def older_layout(text: str, item_texts: list[str]) -> str:
    """``text`` in the shape of a 2013-14 letter's PDF text: the item names (as the gold records
    them) in capitals, and double-spaced."""
    start = max(text.find("IMR ISSUES"), 0)
    for item in item_texts:
        rx = mention_regex(item)
        m = rx.search(text, start) if rx else None
        if m:
            text = text[:m.start()] + m.group(0).upper() + text[m.end():]
    return double_spaced(text)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show-mismatches", action="store_true")
    ap.add_argument("--models", type=Path, help="keep the fold NER models here and reuse them when present "
                    "(to re-score rule changes without retraining; delete after a gold change)")
    ap.add_argument("--predictions", type=Path, help="also write each held-out letter's predicted record "
                    "(ANNOTATION.md JSONL) here, to compare with other annotations")
    ap.add_argument("--max-steps", type=int, help="override training.max_steps of the entity config "
                    "(to measure whether longer training helps held-out letters)")
    ap.add_argument("--double-spaced", action="store_true", help="score the held-out letters double-spaced, "
                    "as 2013-14 letters come out of their PDFs (training letters as usual)")
    ap.add_argument("--older-layout", action="store_true", help="score the held-out letters in the 2013-14 "
                    "shape: double-spaced, with the item names (from the gold) in capitals")
    ap.add_argument("--double-spaced-fraction", type=float, default=DOUBLE_SPACED_FRACTION,
                    help="share of training letters also given double-spaced (imr_nlp.training)")
    args = ap.parse_args(argv)
    overrides = {"training.max_steps": args.max_steps} if args.max_steps else None
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS}: corpus not found (set IMR_SHARED)")
    train = sorted(json.loads(SPLITS.read_text())["train"])
    random.Random(args.seed).shuffle(train)
    folds = [train[i::args.folds] for i in range(args.folds)]
    records = {r["case_number"]: r for r in read_gold(GOLD)}
    letters = corpus_letters(CORPUS)
    pairs = []
    t0 = time.time()
    for k, held in enumerate(folds):
        rest = [c for c in train if c not in set(held)]
        with tempfile.TemporaryDirectory(prefix="imr-entcv-") as tmp:
            work = args.models / f"fold{k + 1}-of-{args.folds}-seed{args.seed}" if args.models else Path(tmp)
            best = work / "ner" / "model-best"
            if not best.is_dir():
                work.mkdir(parents=True, exist_ok=True)
                best = train_entities(GOLD, CORPUS, work / "ner", cases=rest, overrides=overrides,
                                      double_spaced_fraction=args.double_spaced_fraction)
            nlp = with_entity_model(build_pipeline(with_entities=True), best)
            for case in held:
                text = letter_text(find_letter(records[case], letters))
                if args.double_spaced:
                    text = double_spaced(text)
                if args.older_layout:
                    text = older_layout(text, [it.get("text") or "" for it in records[case].get("items", [])])
                pairs.append((Letter.from_doc(nlp(text)).to_dict(), records[case]))
        print(f"fold {k + 1}/{args.folds} done ({time.time() - t0:.0f}s)", flush=True)
    if args.predictions:
        args.predictions.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p, _ in pairs))
    result = score(pairs)
    print(f"\n{args.folds}-fold CV by letter on the train split ({len(train)} letters), seed {args.seed}")
    print(format_report(result))
    if args.show_mismatches:
        print("\n".join(result["mismatches"]))


if __name__ == "__main__":
    main()
