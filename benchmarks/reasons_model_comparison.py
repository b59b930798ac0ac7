"""Compare reasons-for-denial classifiers by cross-validation on the TRAIN split only.

    .venv/bin/python benchmarks/reasons_model_comparison.py [--folds 5] [--seeds 0 1 2] [--cnn] [--only NAME ...]

Every candidate sees the item text + its decision rationale. Folds keep whole letters together;
each seed is a different assignment of letters to folds and the seeds' predictions are pooled
into one table per candidate. Items are matched to gold by index within a letter; the script
first checks that the item reader finds exactly the gold items and decisions. Prints per-label
P/R/F1 per candidate, then the summary table (micro; macro over labels with >= 5 examples;
seconds for all folds and seeds) that the README quotes.

Candidates:

* ``orig_*``: the first model: word (1-2) + char_wb (2-5) TF-IDF + a block of eight cue tokens
  (one per label) from the first cue file (``ORIGINAL_CUES`` below), one-vs-rest class-balanced
  logistic regression, threshold 0.5 (``orig_char_cues``); also with sigmoid calibration, tuned
  thresholds, no cues. (Cue matching now normalises line breaks inside a sentence, which the first
  model did not; so these rows are a little better than the first model as shipped.)
* ``v2_*``: the cue file ``imr_nlp/resources/reason_cues.json`` (per-label patterns from
  ANNOTATION.md and the reviewer's decision rules, with "not recommended unless/until/..." turned
  into a criteria_not_met cue, "not recommended for long-term use" into an exceeds cue, negation
  filters and the sentence role: case sentence vs guideline quote), its tokens as a learned
  block (label, pattern and role tokens) weighted ``w``; word n-grams only unless ``char``;
  ``tuned``: per-label thresholds from inner 3-fold CV inside each training fold (``grouped``:
  inner folds by letter). These rows are the model alone; ``rule_other``: ``other`` (a catch-all
  with few examples) decided by its cue rule when a case sentence cues it; ``rule_other_assoc``:
  ``other`` and ``associated_service`` (a case sentence says the surgery or procedure the item
  depends on was not certified) decided so, as the cue file's ``_rules`` ships; ``_case``: and
  no_functional_improvement and request_incomplete kept only where a case sentence cues them (the
  cue file's ``_case_required``: facts of this record or request, not a guideline's criterion);
  ``hybrid``: request_incomplete decided by rule too (a case sentence says the request lacks a
  dose, quantity, frequency, type...). The shipped model is
  ``v2_word_w0.3_tuned_rule_other_assoc_case`` (``ReasonModel.fit`` defaults).
* ``spacy_bow``: spaCy ``textcat_multilabel`` (TextCatBOW, config ``imr_nlp/configs/reasons_textcat.cfg``)
  trained with nlp.update, CPU; ``spacy_cnn`` (``--cnn``): the TextCatEnsemble (tok2vec CNN + BOW).
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
from imr_nlp.evaluate import multilabel_scores  # noqa: E402
from imr_nlp.training_reasons import (  # noqa: E402
    Example, _SkModel, collect_examples, cross_validate, format_scores, read_label_file,
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


# The first cue file (before the review of the cue phrases), kept to reproduce the first model.
ORIGINAL_CUES = {
    "not_recommended": [r"\bnot (?:be )?recommended\b", r"\bdo(?:es)? not recommend\b", r"\brecommends? against\b",
                        r"\bnot supported (?:by|per) (?:the )?guidelines?\b", r"\bis not indicated\b",
                        r"\bnot (?:been )?shown to\b"],
    "insufficient_evidence": [r"\bexperimental\b", r"\binvestigational\b", r"\bunder ?study\b",
                              r"\b(?:insufficient|limited|lack of|little|no|weak|inconsistent|conflicting) (?:\w+ ){0,3}"
                              r"(?:evidence|studies|literature|data)\b",
                              r"\bnot (?:been )?(?:proven|shown) (?:to be )?effective\b", r"\bnot (?:been )?FDA[- ]approved\b",
                              r"\bnot approved (?:by the FDA|for)\b", r"\bfew randomized\b", r"\befficacy (?:has not|is not|was not)\b"],
    "criteria_not_met": [r"\b(?:no|lack of|absence of|without) (?:\w+ ){0,4}(?:documentation|documented|evidence|indication|"
                         r"findings?|deficits?|red flags?)\b", r"\bred flags?\b",
                         r"\bneurologic(?:al)? (?:deficits?|findings|compromise)\b",
                         r"\bfail(?:ed|ure)? (?:of )?(?:\w+ ){0,3}(?:conservative|first[- ]line|lower levels?)\b",
                         r"\bcandidate for surgery\b|\bsurgical candida",
                         r"\burine drug screen|\bdrug screen|\brisk assessment\b|\bpain contract\b",
                         r"\bnot (?:been )?(?:documented|provided|indicated)\b",
                         r"\bno (?:clear )?rationale\b|\black of (?:a )?(?:clear )?rationale\b",
                         r"\bunless\b|\buntil\b|\bonly (?:be )?(?:recommended|indicated) (?:when|if|for)\b"],
    "no_functional_improvement": [r"\bfunctional improvement\b", r"\bfunctional (?:benefit|gains?|response)\b",
                                  r"\b(?:objective|documented|measurable) (?:\w+ ){0,2}(?:improvement|benefit|pain relief|efficacy)\b",
                                  r"\b(?:reduction|decrease) in (?:\w+ ){0,2}(?:medication|pain|work restrictions)\b",
                                  r"\bresponse to (?:prior|previous|the prior|the previous)?\s*(?:\w+ ){0,2}"
                                  r"(?:treatment|therapy|sessions|injections?)\b",
                                  r"\bprior (?:\w+ ){0,2}(?:sessions|visits|treatments|injections?)\b",
                                  r"\b(?:has|had) (?:already )?(?:completed|received|undergone|attended)\b",
                                  r"\bresults? (?:of|from) (?:the )?(?:initial|prior|previous)\b"],
    "exceeds_guideline_limits": [r"\bexceed(?:s|ed|ing)?\b", r"\bin excess of\b", r"\bbeyond\b", r"\bshort[- ]term\b",
                                 r"\blong[- ]term\b", r"\bmore than (?:\d+|the recommended|what)\b",
                                 r"\b(?:\d+|\w+) to (?:\d+|\w+) (?:sessions|visits|treatments|weeks)\b", r"\bup to \d+\b",
                                 r"\bmaximum\b|\bno more than\b|\blimited to\b",
                                 r"\b(?:total )?morphine equivalent|\bMED\b|\bMME\b"],
    "request_incomplete": [r"\b(?:did|does|do) not (?:specify|include|indicate|state|identify)\b",
                           r"\bfail(?:s|ed)? to (?:specify|include|indicate|state|identify)\b",
                           r"\bnot specified\b|\bunspecified\b|\bunknown (?:quantity|frequency|dose|dosage|duration|number)\b",
                           r"\bwithout (?:a |the )?(?:specified |stated )?(?:dose|dosage|frequency|quantity|duration|body part|strength)\b",
                           r"\b(?:dose|dosage|frequency|quantity|duration|body part|strength|number of sessions|amount of sessions)\b"
                           r".{0,40}\b(?:not (?:specified|provided|stated|included)|unclear|unknown)\b",
                           r"\bit is unclear (?:what|which|how many|how often)\b"],
    "associated_service": [r"\b(?:ancillary|associated|related|concurrent) (?:service|request|services|requests)\b",
                           r"\bas the (?:requested |primary )?(?:surgical|surgery|procedure|surgical intervention)\b.{0,80}"
                           r"\bnot (?:medically necessary|certified|supported)",
                           r"\b(?:since|because|as) the (?:primary |requested )?(?:surgery|procedure|surgical (?:intervention|procedure)|"
                           r"injection)\b.{0,60}\b(?:not|non)[- ]?(?:certified|medically necessary|supported|authorized)\b",
                           r"\bpost[- ]?op(?:erative)?\b.{0,80}\bnot (?:medically necessary|certified|supported)\b",
                           r"\bpre[- ]?op(?:erative)?\b.{0,80}\bnot (?:medically necessary|certified|supported)\b"],
    "other": [r"\bredundant\b", r"\bduplicat(?:e|ive|ion)\b",
              r"\b(?:already|previously) (?:been )?(?:authorized|approved|certified|modified)\b", r"\bhad been approved for\b",
              r"\bmultiple (?:physical )?modalities\b", r"\bunspecified type of specialist\b", r"\bdoes not allow for changes\b"],
}
# the first model's estimator settings (make_estimator's defaults are now the shipped model's)
ORIG = dict(cues=ORIGINAL_CUES, char=True, cue_vocab="fixed", cue_weight=1.0, cue_binary=True, tune=False)
V2_SETTINGS = dict(char=False, cue_vocab="learned", cue_weight=0.3, cue_binary=False)


def _with_rules(rules, case_required=()):
    from imr_nlp.components.reasons import load_cues

    return {**load_cues(), "_rules": list(rules), "_case_required": list(case_required)}


def candidates(cnn: bool):
    # the v2 rows are the model alone (no label decided by rule), except the shipped row and the
    # hybrid, which say which labels their cue rule decides
    alone = _with_rules([])
    V2 = {**V2_SETTINGS, "cues": alone}
    c = {
        "orig_char_nocues": lambda ex, s: _SkModel(ex, s, **{**ORIG, "cues": {}, "cue_block": False}),
        "orig_char_cues": lambda ex, s: _SkModel(ex, s, **ORIG),
        "orig_char_cues_cal": lambda ex, s: _SkModel(ex, s, **ORIG, calibrate=True),
        "orig_char_cues_tuned": lambda ex, s: _SkModel(ex, s, **{**ORIG, "tune": True}),
        "orig_word_cues": lambda ex, s: _SkModel(ex, s, **{**ORIG, "char": False}),
        "v2_char_fixed": lambda ex, s: _SkModel(ex, s, char=True, cue_vocab="fixed", cue_weight=1.0, cues=alone,
                                                tune=False),
        "v2_char_w0.3": lambda ex, s: _SkModel(ex, s, **{**V2, "char": True}, tune=False),
        "v2_word_fixed": lambda ex, s: _SkModel(ex, s, char=False, cue_vocab="fixed", cue_weight=1.0, cues=alone,
                                                tune=False),
        "v2_word_w1": lambda ex, s: _SkModel(ex, s, **{**V2, "cue_weight": 1.0}, tune=False),
        "v2_word_w0.5": lambda ex, s: _SkModel(ex, s, **{**V2, "cue_weight": 0.5}, tune=False),
        "v2_word_w0.3": lambda ex, s: _SkModel(ex, s, **V2, tune=False),
        "v2_word_w0.3_binary": lambda ex, s: _SkModel(ex, s, **{**V2, "cue_binary": True}, tune=False),
        "v2_word_w0.3_C1": lambda ex, s: _SkModel(ex, s, **V2, C=1.0, tune=False),
        "v2_word_w0.3_nocw": lambda ex, s: _SkModel(ex, s, **V2, class_weight=None, tune=False),
        "v2_cues_only": lambda ex, s: _SkModel(ex, s, **{**V2, "word": False, "cue_weight": 1.0}, C=1.0, tune=False),
        "v2_word_w0.3_cal": lambda ex, s: _SkModel(ex, s, **V2, calibrate=True, tune=False),
        "v2_word_w0.3_tuned": lambda ex, s: _SkModel(ex, s, **V2, tune=True),
        "v2_word_w0.3_tuned_grouped": lambda ex, s: _SkModel(ex, s, **V2, tune=True, group_tuning=True),
        "v2_word_w0.3_tuned_rule_other": lambda ex, s: _SkModel(
            ex, s, **{**V2, "cues": _with_rules(["other"])}, tune=True),
        "v2_word_w0.3_tuned_rule_other_assoc": lambda ex, s: _SkModel(
            ex, s, **{**V2, "cues": _with_rules(["associated_service", "other"])}, tune=True),
        "v2_word_w0.3_tuned_rule_other_assoc_case": lambda ex, s: _SkModel(
            ex, s, **{**V2, "cues": _with_rules(["associated_service", "other"],
                                                ["no_functional_improvement", "request_incomplete"])}, tune=True),
        "v2_word_w0.3_tuned_hybrid": lambda ex, s: _SkModel(
            ex, s, **{**V2, "cues": _with_rules(["request_incomplete", "associated_service", "other"])}, tune=True),
        "spacy_bow": lambda ex, s: SpacyTextcat(ex, s, "bow"),
    }
    if cnn:
        c["spacy_cnn"] = lambda ex, s: SpacyTextcat(ex, s, "cnn", epochs=15)
    return c


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
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
        s = multilabel_scores(gold * len(preds), [x for p in preds for x in p], LABELS)
        s["n_items"] = len(gold)
        print(format_scores(s, f"== {name}  ({args.folds}-fold CV by letter x seeds {args.seeds}, "
                               f"{time.time() - t:.0f}s)"))
        print()
        summary.append((name, s["micro"]["f1"], s["macro"]["f1"], time.time() - t))
    print(f"CV on the train split ({args.folds} folds by letter, seeds {args.seeds} pooled); "
          "macro over labels with >= 5 examples")
    print(f"{'candidate':28} {'micro-F1':>9} {'macro-F1':>9} {'secs':>6}")
    for name, mi, ma, secs in summary:
        print(f"{name:28} {mi:9.3f} {ma:9.3f} {secs:6.0f}")


if __name__ == "__main__":
    main()
