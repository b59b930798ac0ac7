"""How far apart two careful human reads of the same letters are, and where the model sits.

    python benchmarks/annotator_agreement.py [--predictions PRED.jsonl]

``data/agreement/blind_reads.jsonl`` holds independent ("blind") records of 36 train letters,
written by annotators who had only ``../shared/ANNOTATION.md`` and its two worked examples (the
brief is ``data/agreement/BRIEF.md``): no project gold, no model output. Scoring them against
the project gold (``data/gold/dwc-imr-2017.jsonl``) gives the inter-annotator agreement, the
ceiling a tagger can be expected to reach against either read.

``--predictions``: held-out predicted records of the same letters (``python
benchmarks/entity_cv.py --predictions PRED.jsonl`` writes them: each letter tagged by a model
that never saw it), scored against the gold and against the blind read. A model that scores
much higher against the gold than against the blind read has learnt the gold's own choices.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imr_nlp.evaluate import PRF, add_entity_mentions, match_items, multilabel_scores, read_gold  # noqa: E402
from imr_nlp.letter import ENTITY_LABELS  # noqa: E402

BLIND = ROOT / "data" / "agreement" / "blind_reads.jsonl"
GOLD = ROOT / "data" / "gold" / "dwc-imr-2017.jsonl"


def read_records(path: Path) -> dict[str, dict]:
    return {r["case_number"]: r for r in read_gold(path)}


def entity_table(pred: dict[str, dict], ref: dict[str, dict], cases: list[str]) -> None:
    """Distinct mentions per letter, exact and word-overlap F1, as ``imr-nlp evaluate`` scores them."""
    exact = {label: PRF() for label in ENTITY_LABELS}
    overlap = {label: PRF() for label in ENTITY_LABELS}
    for c in cases:
        add_entity_mentions(pred[c], ref[c], exact, overlap)
    print(f"  {'label':10s} {'overlap P':>9s} {'R':>6s} {'F1':>6s}   {'exact F1':>8s}  ref mentions")
    for label in ENTITY_LABELS:
        e, o = exact[label].scores(), overlap[label].scores()
        print(f"  {label:10s} {o['precision']:9.3f} {o['recall']:6.3f} {o['f1']:6.3f}   {e['f1']:8.3f}  {e['support']}")


def reason_table(pred: dict[str, dict], ref: dict[str, dict], cases: list[str]) -> None:
    gold_labels, pred_labels = [], []
    for c in cases:
        for pi, gi in match_items(pred[c]["items"], ref[c]["items"]):
            if ref[c]["items"][gi]["decision"] == "upheld":
                gold_labels.append(ref[c]["items"][gi].get("denial_reasons") or [])
                pred_labels.append(pred[c]["items"][pi].get("denial_reasons") or [])
    s = multilabel_scores(gold_labels, pred_labels)
    m = s["micro"]
    print(f"  reasons over {len(gold_labels)} upheld items: micro P {m['precision']:.3f} R {m['recall']:.3f} "
          f"F1 {m['f1']:.3f}, macro F1 {s['macro']['f1']:.3f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--predictions", type=Path, help="held-out predicted records (entity_cv.py --predictions)")
    args = ap.parse_args(argv)
    blind, gold = read_records(BLIND), read_records(GOLD)
    cases = sorted(blind)
    missing = [c for c in cases if c not in gold]
    if missing:
        sys.exit(f"{BLIND}: cases not in the gold: {missing}")
    print(f"{len(cases)} letters. Blind read scored against the project gold (inter-annotator agreement):")
    entity_table(blind, gold, cases)
    reason_table(blind, gold, cases)
    if args.predictions:
        pred = read_records(args.predictions)
        cases = [c for c in cases if c in pred]
        print(f"\nHeld-out predictions ({len(cases)} of these letters) scored against the project gold:")
        entity_table(pred, gold, cases)
        print("... and against the blind read:")
        entity_table(pred, blind, cases)


if __name__ == "__main__":
    main()
