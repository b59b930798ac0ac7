"""``imr_reasons``: the reasons for denial of each upheld disputed item (ANNOTATION.md, "Reasons for
denial"), with a probability per label and the rationale sentences that support each predicted
label.

Model. A multi-label classifier over the item text plus its decision rationale: a scikit-learn
``Pipeline`` of word (1-2 gram) TF-IDF, character (2-5 gram, within word boundaries) TF-IDF and a
cue-phrase block, feeding one class-balanced logistic regression per label (one-vs-rest). Cue
phrases (``resources/reason_cues.json``, data not code) add a token ``__cue_<label>__`` to the
input for every rationale sentence that matches one of the label's patterns; a third vectorizer
with a fixed eight-column vocabulary turns them into their own feature block, so a phrase a
reviewer writes once ("failed to specify a body part") weighs as much as the n-grams. Chosen by
cross-validation on the training letters (``benchmarks/reasons_model_comparison.py``): it beat
spaCy ``textcat_multilabel`` (micro-F1 0.80 vs 0.73, macro-F1 0.70 vs 0.46) and the same linear
model with sigmoid-calibrated probabilities (calibration lowered recall of the rare labels:
macro-F1 0.52) or with per-label thresholds tuned on inner folds (no gain). So the
``reason_probabilities`` are the logistic regressions' own (class-balanced, hence generous for
rare labels) probabilities, not calibrated frequencies. An item is given every label whose
probability reaches the label's threshold (0.5), and at least its most probable label, since
every upheld item has one reason or more. Overturned items get no reasons (``[]``, ``{}``).

Evidence. For each predicted label the component scores every sentence of the rationale on its
own with the same model (sentence-level scoring) and reports the sentences that match one of the
label's cue phrases, most probable first, or, where none matches, the one sentence the model
finds most indicative of the label. Sentence-level scoring alone tends to pick the boilerplate
guideline quotation; the cue phrases alone miss paraphrase; together they give short, readable
evidence that always comes from the rationale (offsets are character offsets into the Doc).

Storage. ``to_disk`` writes ``model.skops`` (skops, no pickle) and ``meta.json`` (labels,
thresholds, the cue patterns the model was trained with) inside the pipeline directory, so
``nlp.to_disk(DIR)`` / ``spacy.load(DIR)`` round-trip. ``from_disk`` loads only types from
scikit-learn, SciPy and NumPy. Without a trained model the component writes empty reasons and
warns once.
"""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import ensure_path

if not Doc.has_extension("imr_items"):
    Doc.set_extension("imr_items", default=None)

LABELS: tuple[str, ...] = (
    "not_recommended", "insufficient_evidence", "criteria_not_met", "no_functional_improvement",
    "exceeds_guideline_limits", "request_incomplete", "associated_service", "other",
)
CUES_PATH = Path(__file__).resolve().parent.parent / "resources" / "reason_cues.json"
MODEL_FILE = "model.skops"
META_FILE = "meta.json"
# Only these modules may appear in a loaded model file (skops refuses anything else).
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")

# --------------------------------------------------------------------------- sentences
_ABBREV = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|vs|No|e\.g|i\.e|etc|approx|Fig|St|Jr|Sr|al|mg|cc|ml|p)\.|\b[A-Z]\.)$")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'\u201d)\]]*\s+(?=[\"'\u201c(\[]?[A-Z0-9])")


def split_sentences(text: str, start: int = 0, end: Optional[int] = None) -> list[tuple[int, int]]:
    """(start, end) char offsets of the sentences of ``text[start:end]``, whitespace trimmed.

    A regular-expression splitter (sentence end + space + capital), which suits the reviewers'
    prose and needs no trained parser; common abbreviations ("Dr.", "e.g.", "No.") do not end a
    sentence.
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    pos = start
    for m in _BOUNDARY.finditer(text, start, end):
        head = text[pos:m.start()]
        if _ABBREV.search(head.rstrip("\"'\u201d)]")):
            continue
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    trimmed = []
    for s, e in out:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


# --------------------------------------------------------------------------- cue phrases
def load_cues(path: Optional[Path] = None) -> dict[str, list[str]]:
    """The cue patterns {label: [regex, ...]} of ``resources/reason_cues.json`` (or ``path``)."""
    data = json.loads(Path(path or CUES_PATH).read_text(encoding="utf-8"))
    return {k: list(v) for k, v in data.items() if not k.startswith("_")}


class CueMatcher:
    """Which labels' cue patterns a sentence matches."""

    def __init__(self, cues: dict[str, list[str]]):
        self.patterns = {label: [re.compile(p, re.IGNORECASE) for p in pats] for label, pats in cues.items()}

    def labels(self, sentence: str) -> list[str]:
        return [label for label, pats in self.patterns.items() if any(p.search(sentence) for p in pats)]


def _norm(text: str) -> str:
    return " ".join(text.split())


def model_input(item_text: str, sentences: Sequence[str], cues: CueMatcher) -> str:
    """The classifier's input for one item: item text, rationale, then one cue token per
    (sentence, matched label)."""
    tokens = [f"__cue_{label}__" for s in sentences for label in cues.labels(s)]
    return "\n".join([_norm(item_text), " ".join(_norm(s) for s in sentences), " ".join(tokens)])


def rationale_sentences(text: str, item: dict[str, Any]) -> list[tuple[int, int]]:
    rs, re_ = item.get("rationale_start"), item.get("rationale_end")
    if rs is None or re_ is None:
        return []
    return split_sentences(text, rs, re_)


# --------------------------------------------------------------------------- model
def make_estimator(Y: np.ndarray, seed: int = 0, C: float = 10.0, calibrate: bool = False,
                   char: bool = True, class_weight: Optional[str] = "balanced", cue_block: bool = True,
                   cue_norm: Optional[str] = None, labels: Sequence[str] = LABELS):
    """The scikit-learn Pipeline: word + char TF-IDF -> one-vs-rest (calibrated) logistic
    regression. Calibration folds shrink to what the rarest label allows (none below 2)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    feats = [("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                      token_pattern=r"(?u)\b\w[\w-]*\b", max_features=50000))]
    if char:
        feats.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                              sublinear_tf=True, max_features=100000)))
    if cue_block:
        # the cue tokens as their own block (a fixed vocabulary, one column per label), so that
        # they are not drowned by the thousands of n-gram columns
        feats.append(("cues", TfidfVectorizer(token_pattern=r"__cue_[a-z_]+__", lowercase=False, use_idf=False,
                                              sublinear_tf=True, norm=cue_norm,
                                              vocabulary=[f"__cue_{lab}__" for lab in labels])))
    base = LogisticRegression(C=C, class_weight=class_weight, max_iter=2000, solver="liblinear",
                              random_state=seed)
    pos = Y.sum(axis=0)
    neg = Y.shape[0] - pos
    varied = [min(p, n) for p, n in zip(pos, neg) if p > 0 and n > 0]
    folds = min([3] + varied) if varied else 0
    if calibrate and folds >= 2:
        clf = CalibratedClassifierCV(base, method="sigmoid",
                                     cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    else:
        clf = base
    return Pipeline([("features", FeatureUnion(feats)), ("clf", OneVsRestClassifier(clf))])


def _fit(est, X, Y):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*present in all training examples.*")
        return est.fit(X, Y)


THRESHOLD_GRID = np.round(np.arange(0.2, 0.75, 0.05), 2)


def _tune_thresholds(X: list[str], Y: np.ndarray, labels: Sequence[str], seed: int, params: dict,
                     folds: int = 3, min_support: int = 5) -> dict[str, float]:
    """Per-label thresholds maximising F1 on out-of-fold probabilities of the training items
    (labels with fewer than ``min_support`` examples keep the default); ties go to the value
    nearest 0.5."""
    from sklearn.model_selection import KFold

    if len(X) < 2 * folds:
        return {}
    P = np.zeros(Y.shape, dtype=float)
    for tr, te in KFold(folds, shuffle=True, random_state=seed).split(X):
        est = _fit(make_estimator(Y[tr], seed=seed, labels=labels, **params), [X[i] for i in tr], Y[tr])
        P[te] = np.asarray(est.predict_proba([X[i] for i in te])).reshape(len(te), len(labels))
    out = {}
    for k, label in enumerate(labels):
        if Y[:, k].sum() < min_support:
            continue
        best = max(THRESHOLD_GRID, key=lambda t: (_f1(Y[:, k], P[:, k] >= t), -abs(t - 0.5)))
        out[label] = float(best)
    return out


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float(np.sum((y == 1) & pred))
    fp = float(np.sum((y == 0) & pred))
    fn = float(np.sum((y == 1) & ~pred))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


class ReasonModel:
    """The fitted classifier with its labels, per-label thresholds and cue patterns."""

    def __init__(self, estimator, labels: Sequence[str], thresholds: dict[str, float],
                 cues: dict[str, list[str]], info: Optional[dict[str, Any]] = None):
        self.estimator = estimator
        self.labels = list(labels)
        self.thresholds = dict(thresholds)
        self.cues = cues
        self.matcher = CueMatcher(cues)
        self.info = dict(info or {})

    @classmethod
    def fit(cls, item_texts: Sequence[str], sentences: Sequence[Sequence[str]], label_sets: Sequence[Iterable[str]],
            labels: Sequence[str] = LABELS, seed: int = 0, cues: Optional[dict[str, list[str]]] = None,
            threshold: float = 0.5, tune: bool = False, **params) -> "ReasonModel":
        """Fit on upheld items: their texts, rationale sentences and label sets."""
        cues = load_cues() if cues is None else cues
        matcher = CueMatcher(cues)
        X = [model_input(t, s, matcher) for t, s in zip(item_texts, sentences)]
        Y = np.array([[int(label in set(ls)) for label in labels] for ls in label_sets], dtype=int)
        if len(X) == 0:
            raise ValueError("no upheld items with reasons to train on")
        thresholds = {label: threshold for label in labels}
        if tune:
            thresholds.update(_tune_thresholds(X, Y, labels, seed, params))
        est = _fit(make_estimator(Y, seed=seed, labels=labels, **params), X, Y)
        info = {"n_items": len(X), "support": {label: int(n) for label, n in zip(labels, Y.sum(axis=0))},
                "seed": seed, "tune": tune, "params": {k: v for k, v in params.items()}}
        return cls(est, labels, thresholds, cues, info)

    def _proba(self, X: list[str]) -> np.ndarray:
        if not X:
            return np.zeros((0, len(self.labels)))
        P = np.asarray(self.estimator.predict_proba(X), dtype=float)
        return P.reshape(len(X), len(self.labels))

    def predict_proba(self, item_texts: Sequence[str], sentences: Sequence[Sequence[str]]) -> np.ndarray:
        return self._proba([model_input(t, s, self.matcher) for t, s in zip(item_texts, sentences)])

    def decide(self, probs: np.ndarray) -> list[list[str]]:
        """Labels at or over their threshold; at least the most probable one."""
        out = []
        for row in np.atleast_2d(probs):
            chosen = [lab for lab, p in zip(self.labels, row) if p >= self.thresholds.get(lab, 0.5)]
            if not chosen and len(row):
                chosen = [self.labels[int(np.argmax(row))]]
            out.append(chosen)
        return out

    # ---------------------------------------------------------------- serialization
    def to_disk(self, path: Path) -> None:
        import skops.io as sio

        path.mkdir(parents=True, exist_ok=True)
        sio.dump(self.estimator, path / MODEL_FILE)
        meta = {"labels": self.labels, "thresholds": self.thresholds, "cues": self.cues, "info": self.info}
        (path / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")

    @classmethod
    def from_disk(cls, path: Path) -> "ReasonModel":
        import skops.io as sio

        file = path / MODEL_FILE
        untrusted = sio.get_untrusted_types(file=file)
        bad = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
        if bad:
            raise ValueError(f"{file}: refusing to load types outside scikit-learn/SciPy/NumPy: {bad}")
        estimator = sio.load(file, trusted=untrusted)
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        return cls(estimator, meta["labels"], meta["thresholds"], meta["cues"], meta.get("info"))


# --------------------------------------------------------------------------- component
@Language.factory(
    "imr_reasons",
    default_config={"max_evidence": 3},
    assigns=["doc._.imr_items"],
    requires=["doc._.imr_items"],
)
def make_reasons(nlp: Language, name: str, max_evidence: int) -> "ReasonClassifier":
    return ReasonClassifier(nlp, name, max_evidence=max_evidence)


class ReasonClassifier:
    """Add ``denial_reasons``, ``reason_probabilities`` and ``reason_evidence`` to each item dict
    in ``doc._.imr_items`` (see the module docstring)."""

    def __init__(self, nlp: Language, name: str = "imr_reasons", max_evidence: int = 3,
                 model: Optional[ReasonModel] = None):
        self.name = name
        self.max_evidence = max_evidence
        self.model = model
        self._warned = False

    def __call__(self, doc: Doc) -> Doc:
        items = doc._.imr_items or []
        for item in items:
            item["denial_reasons"], item["reason_probabilities"], item["reason_evidence"] = [], {}, {}
        upheld = [it for it in items if it.get("decision") == "upheld" and it.get("rationale_start") is not None]
        if not upheld:
            return doc
        if self.model is None:
            if not self._warned:
                warnings.warn(f"{self.name}: no trained reasons model; items get no denial_reasons "
                              "(train one with `imr-nlp train reasons`)", stacklevel=2)
                self._warned = True
            return doc
        self.annotate(doc.text, upheld)
        return doc

    def annotate(self, text: str, items: list[dict[str, Any]]) -> None:
        """Predict reasons and evidence for upheld item dicts of a letter ``text`` (in place)."""
        model = self.model
        sents = [rationale_sentences(text, it) for it in items]
        sent_texts = [[text[s:e] for s, e in ss] for ss in sents]
        # One batch: the items, then each sentence on its own (for evidence).
        X = [model_input(it.get("text", ""), st, model.matcher) for it, st in zip(items, sent_texts)]
        flat = [(i, j) for i, st in enumerate(sent_texts) for j in range(len(st))]
        X += [model_input("", [sent_texts[i][j]], model.matcher) for i, j in flat]
        P = model._proba(X)
        item_p, sent_p = P[:len(items)], P[len(items):]
        per_item: list[list[np.ndarray]] = [[] for _ in items]
        for (i, _j), row in zip(flat, sent_p):
            per_item[i].append(row)
        for i, (item, row, chosen) in enumerate(zip(items, item_p, model.decide(item_p))):
            item["reason_probabilities"] = {lab: round(float(p), 4) for lab, p in zip(model.labels, row)}
            item["denial_reasons"] = chosen
            item["reason_evidence"] = {lab: self._evidence(text, sents[i], sent_texts[i], per_item[i],
                                                           model.labels.index(lab)) for lab in chosen}

    def _evidence(self, text: str, offsets: list[tuple[int, int]], sent_texts: list[str],
                  scores: list[np.ndarray], k: int) -> list[dict[str, Any]]:
        if not offsets:
            return []
        label = self.model.labels[k]
        cued = [j for j, s in enumerate(sent_texts) if label in self.model.matcher.labels(s)]
        ranked = sorted(cued or range(len(offsets)), key=lambda j: (-float(scores[j][k]), j))
        keep = sorted(ranked[:self.max_evidence] if cued else ranked[:1])
        return [{"text": _norm(text[offsets[j][0]:offsets[j][1]]), "start": offsets[j][0], "end": offsets[j][1]}
                for j in keep]

    # ---------------------------------------------------------------- spaCy plumbing
    def initialize(self, get_examples=None, nlp=None, model: Optional[ReasonModel] = None) -> None:
        if model is not None:
            self.model = model

    def to_disk(self, path, exclude=tuple()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "cfg.json").write_text(json.dumps({"has_model": self.model is not None}), encoding="utf-8")
        if self.model is not None:
            self.model.to_disk(path)

    def from_disk(self, path, exclude=tuple()) -> "ReasonClassifier":
        path = ensure_path(path)
        cfg = json.loads((path / "cfg.json").read_text(encoding="utf-8")) if (path / "cfg.json").exists() else {}
        self.model = ReasonModel.from_disk(path) if cfg.get("has_model", (path / MODEL_FILE).exists()) else None
        return self
