"""Compare reasons-for-denial classifiers by cross-validation on the TRAIN split only.

    .venv/bin/python benchmarks/reasons_model_comparison.py [--folds 5] [--seeds 0 [1 ...]] [--cnn]

Candidates (all see the item text + its decision rationale, all use the same decision rule:
labels with p >= 0.5, at least the most probable one):

* sk_*: scikit-learn Pipeline, word (1-2) + char_wb (2-5) TF-IDF -> one-vs-rest logistic
  regression; with/without sigmoid calibration, with/without the cue-phrase tokens of
  ``imr_nlp/resources/reason_cues.json`` as tokens in the text (``cuetokens``) or as their own
  feature block (``cues``), with per-label thresholds tuned on inner folds (``tuned``) (the shipped model is ``sk_plain_cues``: no calibration, cue block).
* spacy_bow: spaCy ``textcat_multilabel`` (TextCatBOW, config ``imr_nlp/configs/reasons_textcat.cfg``)
  trained with nlp.update, CPU.
* spacy_cnn (``--cnn``): the same with the TextCatEnsemble (tok2vec CNN + BOW) architecture.

Folds keep whole letters together. Items are matched to gold by index within a letter; the
script first checks that the item reader finds exactly the gold items and decisions.
Prints per-label P/R/F1 per candidate and a summary (micro; macro over labels with >= 5 examples).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imr_nlp.components.reasons import LABELS  # noqa: E402
from imr_nlp.training_reasons import (  # noqa: E402
    Example, _SkModel, collect_examples, cross_validate, format_scores, read_label_file, score,
)

GOLD = ROOT / "data" / "gold" / "dwc-imr-2017.jsonl"
SPLITS = ROOT / "data" / "splits.json"
CORPUS = Path(os.environ.get("IMR_SHARED", ROOT.parent / "shared")) / "corpus" / "dwc-imr-2017" / "txt"
CONFIG = ROOT / "imr_nlp" / "configs" / "reasons_textcat.cfg"


def train_examples(split: str = "train") -> tuple[list[Example], dict]:
    from imr_nlp.pipeline import build_pipeline

    cases = set(json.loads(SPLITS.read_text())[split])
    rows = [r for r in read_label_file(GOLD) if r.case_number in cases]
    nlp = build_pipeline(with_entities=False)
    return collect_examples(rows, CORPUS, nlp, GOLD)


# ----------------------------------------------------------------------------- spaCy candidate
class SpacyTextcat:
    def __init__(self, examples: list[Example], seed: int = 0, arch: str = "bow", epochs: int = 20):
        import spacy
        from spacy.training import Example as SpExample
        from spacy.util import fix_random_seed, load_config, load_model_from_config, minibatch

        fix_random_seed(seed)
        config = load_config(CONFIG)
        if arch == "cnn":
            config["components"]["textcat_multilabel"]["model"] = {
                "@architectures": "spacy.TextCatEnsemble.v2",
                "nO": None,
                "linear_model": {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False,
                                 "ngram_size": 1, "no_output_layer": False, "length": 262144},
                "tok2vec": {"@architectures": "spacy.Tok2Vec.v2",
                            "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 64,
                                      "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                                      "rows": [5000, 1000, 2500, 2500], "include_static_vectors": False},
                            "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 64,
                                       "window_size": 1, "maxout_pieces": 3, "depth": 2}},
            }
        self.nlp = load_model_from_config(config, auto_fill=True, validate=True)
        tc = self.nlp.get_pipe("textcat_multilabel")
        for label in LABELS:
            tc.add_label(label)
        train = [SpExample.from_dict(self.nlp.make_doc(self._text(e)),
                                     {"cats": {lab: float(lab in e.labels) for lab in LABELS}}) for e in examples]
        optimizer = self.nlp.initialize(lambda: train)
        rng = np.random.RandomState(seed)
        for _ in range(epochs):
            order = rng.permutation(len(train))
            for batch in minibatch([train[i] for i in order], size=8):
                self.nlp.update(batch, sgd=optimizer, drop=0.2)

    @staticmethod
    def _text(e: Example) -> str:
        return e.item_text + "\n" + " ".join(e.sentences)

    def predict(self, examples: list[Example]) -> list[list[str]]:
        out = []
        for doc in self.nlp.pipe(self._text(e) for e in examples):
            chosen = [lab for lab in LABELS if doc.cats.get(lab, 0.0) >= 0.5]
            out.append(chosen or [max(LABELS, key=lambda lab: doc.cats.get(lab, 0.0))])
        return out


def candidates(cnn: bool):
    c = {
        "sk_plain": lambda ex, s: _SkModel(ex, s, calibrate=False, cues={}, cue_block=False),
        "sk_cal": lambda ex, s: _SkModel(ex, s, calibrate=True, cues={}, cue_block=False),
        "sk_cal_cuetokens": lambda ex, s: _SkModel(ex, s, calibrate=True, cue_block=False),
        "sk_plain_cues": lambda ex, s: _SkModel(ex, s, calibrate=False),
        "sk_cal_cues": lambda ex, s: _SkModel(ex, s, calibrate=True),
        "sk_plain_cues_C1": lambda ex, s: _SkModel(ex, s, calibrate=False, C=1.0),
        "sk_plain_cues_C100": lambda ex, s: _SkModel(ex, s, calibrate=False, C=100.0),
        "sk_plain_cues_word": lambda ex, s: _SkModel(ex, s, calibrate=False, char=False),
        "sk_plain_cues_tuned": lambda ex, s: _SkModel(ex, s, calibrate=False, tune=True),
        "sk_cal_cues_tuned": lambda ex, s: _SkModel(ex, s, calibrate=True, tune=True),
        "spacy_bow": lambda ex, s: SpacyTextcat(ex, s, "bow"),
    }
    if cnn:
        c["spacy_cnn"] = lambda ex, s: SpacyTextcat(ex, s, "cnn", epochs=15)
    return c


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--cnn", action="store_true", help="also the spaCy CNN ensemble (slower)")
    ap.add_argument("--only", nargs="*", help="candidate names to run")
    args = ap.parse_args(argv)
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS}: corpus not found (set IMR_SHARED)")
    examples, report = train_examples("train")
    print(f"train split: {report['letters']} letters, {report['examples']} upheld labelled items; "
          f"item-count mismatches: {report['count_mismatches'] or 'none'}; "
          f"decision mismatches: {report['decision_mismatches'] or 'none'}\n")
    gold = [e.labels for e in examples]
    summary = []
    for name, make in candidates(args.cnn).items():
        if args.only and name not in args.only:
            continue
        t = time.time()
        preds = []
        for seed in args.seeds:
            p, _ = cross_validate(examples, k=args.folds, seed=seed, fit=lambda ex, s=seed: make(ex, s))
            preds.append(p)
        # pool the seeds' (different fold assignments) predictions into one table
        s = score(gold * len(preds), [x for p in preds for x in p])
        s["n_items"] = len(gold)
        print(format_scores(s, f"== {name}  ({args.folds}-fold CV by letter x seeds {args.seeds}, "
                               f"{time.time() - t:.0f}s)"))
        print()
        summary.append((name, s["micro"]["f1"], s["macro"]["f1"], time.time() - t))
    print(f"{'candidate':20} {'micro-F1':>9} {'macro-F1':>9} {'secs':>6}")
    for name, mi, ma, secs in summary:
        print(f"{name:20} {mi:9.3f} {ma:9.3f} {secs:6.0f}")


if __name__ == "__main__":
    main()
