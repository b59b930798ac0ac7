"""Score the entity mentions of the full pipeline against gold parts, per label, on one split.

    python scripts/eval_entities.py --split test [--model DIR] [--errors]

Uses the repository's scorer (imr_nlp.evaluate: exact = same mention after case/space folding,
word-overlap = one-to-one greedy match on a shared content word). ``--errors`` prints missed and
spurious mentions: use it on the train split only (tuning on test gold is not allowed).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imr_nlp.evaluate import ENTITY_LABELS, PRF, multiset_tp, norm_text, overlap_tp  # noqa: E402
from imr_nlp.letter import Letter  # noqa: E402
from imr_nlp.pipeline import build_pipeline  # noqa: E402
from imr_nlp.training import read_gold_parts  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "dwc-imr-2017" / "txt"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test")
    ap.add_argument("--model", type=Path, default=None, help="trained NER dir (model-best)")
    ap.add_argument("--gold", type=Path, default=ROOT / "data" / "gold" / "dwc-imr-2017.jsonl")
    ap.add_argument("--errors", action="store_true", help="print missed/spurious mentions per letter and label")
    ap.add_argument("--ner-dev", action="store_true",
                    help="only the train letters held out of NER training (the dev slice of build_entity_docbins)")
    ap.add_argument("--model-labels", default=None, help="comma-separated labels taken from the NER model")
    args = ap.parse_args()
    if args.errors and args.split == "test":
        sys.exit("--errors is for the train split only")
    cases = json.loads((ROOT / "data" / "splits.json").read_text())[args.split]
    if args.ner_dev:
        from imr_nlp.training import dev_cases

        cases = sorted(dev_cases(cases))
    gold = read_gold_parts(args.gold)
    nlp = build_pipeline(args.model)
    if args.model_labels is not None:
        nlp.get_pipe("imr_entities").model_labels = set(filter(None, args.model_labels.split(",")))
    exact = {label: PRF() for label in ENTITY_LABELS}
    over = {label: PRF() for label in ENTITY_LABELS}
    n = 0
    for case in cases:
        if case not in gold:
            continue
        doc = nlp((CORPUS / f"{case}.txt").read_text(encoding="utf8"))
        pred = Letter.from_doc(doc).to_dict()["entities"]
        n += 1
        for label in ENTITY_LABELS:
            pm = sorted({norm_text(m) for m in pred.get(label, [])})
            gm = sorted({norm_text(m) for m in gold[case]["entities"].get(label, [])})
            exact[label].add(multiset_tp(pm, gm), len(pm), len(gm))
            mp, mg = overlap_tp(pm, gm)
            over[label].add(mp, len(pm), len(gm), tp_gold=mg)
            if args.errors and set(pm) != set(gm):
                print(case, label, "MISSED", sorted(set(gm) - set(pm)), "SPURIOUS", sorted(set(pm) - set(gm)))
    print(f"{n} letters ({args.split})")
    print(f"{'label':10s} {'exact P':>8s} {'R':>6s} {'F1':>6s}   {'overlap P':>9s} {'R':>6s} {'F1':>6s}  support")
    for label in ENTITY_LABELS:
        e, o = exact[label].scores(), over[label].scores()
        print(f"{label:10s} {e['precision']:8.3f} {e['recall']:6.3f} {e['f1']:6.3f}   {o['precision']:9.3f} "
              f"{o['recall']:6.3f} {o['f1']:6.3f}  {e['support']}")


if __name__ == "__main__":
    main()
