"""``imr_reasons``: the reasons for denial of each upheld disputed item (ANNOTATION.md, "Reasons for
denial"), with a probability per label and the rationale sentences that support each predicted
label.

Model. A multi-label classifier over the item text plus its decision rationale: a scikit-learn
``Pipeline`` of word (1-2 gram) TF-IDF and a cue-token block, feeding one class-balanced logistic
regression per label (one-vs-rest). Cue phrases (``resources/reason_cues.json``, data not code:
per-label patterns written from ANNOTATION.md and the reviewer's decision rules) are matched
sentence by sentence (:class:`CueMatcher`); each match adds tokens for the label, the pattern and
the sentence's role (a case sentence about this patient/record/request, or a guideline quotation),
after two scope rules: a "not recommended" that is conditional ("unless", "until", "in the
absence of", "first-line", "routine use") becomes a criteria_not_met cue and one limited in time
or number ("not recommended for long-term use", "beyond ...") an exceeds_guideline_limits cue
(clause by clause: "X is not recommended by the MTUS, and it is not indicated for long-term use"
keeps its unconditional no and adds the limit);
a negation filter drops e.g. "no evidence that the patient ..." as an insufficient_evidence cue,
and the opioid-tapering disclaimer gives no cues. The cue block (sublinear counts, weight 0.3)
is its own feature block so the ~100 cue columns are not drowned by the n-grams. Per-label
thresholds are tuned on inner 3-fold cross-validation of the training items (grid 0.2-0.7;
labels with < 5 examples keep 0.5). An item is given every label whose probability reaches its
threshold, and at least its most probable label. A label listed under ``_rules`` in the cue file
is also given whenever a case sentence cues it (the hybrid). The file lists two: ``other``, a
catch-all with nine training examples that the model cannot learn, but whose cues (redundant,
already authorized, contraindicated for this patient...) say it plainly (CV micro-F1 +~0.004,
macro +~0.02 at 3, 5 and 10 folds); and ``associated_service``, once its cues said only that the
surgery or procedure the item depends on was not certified (not the item's own "post-op" name in
the verdict, not a "concurrent request" that was supported): macro +~0.025 at 3, 5 and 10
folds, micro unchanged, the label's six training items all found. request_incomplete by rule too
measured within noise (micro +0.001 to +0.003), and its cues ("failed to provide ...") also
describe missing records, so the model decides it. The other way round, a label listed under
``_case_required`` (no_functional_improvement, request_incomplete) is a fact of this patient's
record or request, so the model's label is kept only when a case sentence cues it: a guideline's
"continued use requires documented functional improvement" is not the reason (no_functional_improvement
precision 0.80 -> 0.91 in CV; micro 0.880 / 0.890 / 0.893 -> 0.887 / 0.892 / 0.896 at 3 / 5 / 10
folds, with the case pattern widened to "the worker", he/she and the progress notes).
Chosen by cross-validation by letter on the training split (``benchmarks/reasons_model_comparison.py``):
it beat the first model (word + char n-grams with eight label-level cue tokens), spaCy
``textcat_multilabel``, calibrated probabilities and char n-grams (the three-label hybrid measured
the same within noise); dropping char
n-grams made the model ~30x smaller at no cost. ``reason_probabilities`` are the logistic
regressions' own (class-balanced, hence generous for rare labels) probabilities, not calibrated
frequencies; compare them with ``ReasonModel.thresholds``.

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
import zipfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import ensure_path, minibatch

from ..text import doc_text

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
def load_cues(path: Optional[Path] = None) -> dict[str, Any]:
    """The cue patterns of ``resources/reason_cues.json`` (or ``path``): {label: [regex, ...]}, plus
    the optional settings ``_context`` (conditional / case / negated patterns), ``_rules``
    (labels a cue rule decides) and ``_case_required`` (labels a case sentence must cue);
    documentation keys (other ``_`` keys) are dropped."""
    data = json.loads(Path(path or CUES_PATH).read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_") or k in ("_context", "_rules", "_case_required")}


def _compile(patterns: Iterable[str]) -> list[re.Pattern]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


class CueMatcher:
    """Which labels' cue patterns a sentence matches, and the feature tokens that follows from it.

    ``cues`` is :func:`load_cues` output; a plain {label: [regex]} dict (the original form) works
    too (no conditional / role / negation handling then)."""

    def __init__(self, cues: dict[str, Any]):
        ctx = cues.get("_context") or {}
        self.patterns = {label: _compile(pats) for label, pats in cues.items() if not label.startswith("_")}
        self.conditional = _compile(ctx.get("conditional", []))
        self.case = _compile([ctx["case"]]) if ctx.get("case") else []
        self.negated = {label: _compile(pats) for label, pats in (ctx.get("negated") or {}).items()}
        self.ignore = _compile(ctx.get("ignore", []))
        self.limit = _compile(ctx.get("limit", []))
        self.rules = [lab for lab in cues.get("_rules", []) if lab in self.patterns]
        self.case_required = [lab for lab in cues.get("_case_required", []) if lab in self.patterns]
        # one letter asks about each rationale sentence several times (item input, sentence input,
        # evidence per label): remember the recent answers (~100 regexes a sentence)
        self._resolved: dict[str, tuple[dict[str, list[int]], Optional[str]]] = {}
        self._tokens: dict[str, list[str]] = {}

    def matches(self, sentence: str) -> dict[str, list[int]]:
        """{label: [numbers of the label's patterns that match]} for one sentence, after the
        negation filter (a label whose ``negated`` context matches the sentence is dropped)."""
        out: dict[str, list[int]] = {}
        sentence = _norm(sentence)
        if any(p.search(sentence) for p in self.ignore):
            return out
        for label, pats in self.patterns.items():
            hit = [i for i, p in enumerate(pats) if p.search(sentence)]
            if hit and not any(p.search(sentence) for p in self.negated.get(label, ())):
                out[label] = hit
        return out

    def is_conditional(self, sentence: str) -> bool:
        return any(p.search(_norm(sentence)) for p in self.conditional)

    def is_case(self, sentence: str) -> bool:
        return any(p.search(_norm(sentence)) for p in self.case)

    def _resolve(self, sentence: str) -> tuple[dict[str, list[int]], Optional[str]]:
        """The matches with a 'not recommended' moved where the sentence puts it: a duration or
        number limit ('not recommended for long-term use') -> exceeds_guideline_limits (kind
        "nr_limit"); a condition ('not recommended unless ...') -> criteria_not_met ("conditional")."""
        sentence = _norm(sentence)  # letters break lines inside sentences
        hit = self._resolved.get(sentence)
        if hit is None:
            if len(self._resolved) > 4096:
                self._resolved.clear()
            hit = self._resolved[sentence] = self._resolve_uncached(sentence)
        return hit

    def _resolve_uncached(self, sentence: str) -> tuple[dict[str, list[int]], Optional[str]]:
        m = self.matches(sentence)
        if "not_recommended" not in m:
            return m, None
        # the scope of a limit or condition is its clause: "Soma is not recommended by the MTUS, and
        # it is not indicated for long-term use" keeps its unconditional no
        nr = self.patterns["not_recommended"]
        clauses = [c for c in _CLAUSE_BREAK.split(sentence) if any(p.search(c) for p in nr)] or [sentence]
        found = None
        plain = False
        for clause in clauses:
            kind = self._modifier(clause)
            if kind is None:
                plain = True
            elif found is None:
                found = kind
        if found is None:
            return m, None
        kind, label = found
        if not plain:
            del m["not_recommended"]
        if label in self.patterns:
            m.setdefault(label, [])
        return m, kind

    def _modifier(self, clause: str) -> Optional[tuple[str, str]]:
        for kind, pats, label in (("nr_limit", self.limit, "exceeds_guideline_limits"),
                                  ("conditional", self.conditional, "criteria_not_met")):
            if pats and any(p.search(clause) for p in pats):
                return kind, label
        return None

    def labels(self, sentence: str) -> list[str]:  # (the cached matches are not to be changed)
        """The labels whose cues a sentence carries (a conditional 'not recommended' counts for
        criteria_not_met, a 'not recommended beyond ...' for exceeds_guideline_limits)."""
        return list(self._resolve(sentence)[0])

    def tokens(self, sentence: str) -> list[str]:
        """Feature tokens of one sentence: per matched label ``__cue_<label>__``, one per matched
        pattern ``__cue_<label>_<n>__`` and the sentence role ``__cue_<label>_case__`` /
        ``__cue_<label>_gl__``; ``__cue_conditional__`` / ``__cue_nr_limit__`` for a conditional /
        limited 'not recommended' (see :meth:`_resolve`)."""
        key = _norm(sentence)
        cached = self._tokens.get(key)
        if cached is not None:
            return list(cached)
        if len(self._tokens) > 4096:
            self._tokens.clear()
        m, kind = self._resolve(sentence)
        out = [f"__cue_{kind}__"] if kind else []
        role = ("case" if self.is_case(sentence) else "gl") if self.case else None
        for label, hits in m.items():
            out.append(f"__cue_{label}__")
            if self.case or self.conditional:  # the extended form: pattern and role tokens
                out += [f"__cue_{label}_{i}__" for i in hits]
                out.append(f"__cue_{label}_{role}__")
        self._tokens[key] = out
        return list(out)

    def rule_labels(self, sentences: Sequence[str]) -> list[str]:
        """Labels of ``rules`` that a case sentence of the rationale cues."""
        if not self.rules:
            return []
        found = set()
        for s in sentences:
            if self.case and not self.is_case(s):
                continue
            found.update(lab for lab in self.labels(s) if lab in self.rules)
        return [lab for lab in self.rules if lab in found]

    def unsupported(self, sentences: Sequence[str]) -> list[str]:
        """Labels of ``case_required`` that no case sentence of the rationale cues: facts about this
        patient's record (no improvement from the treatment already given) that the rationale
        only quotes from a guideline."""
        if not self.case_required or not self.case:
            return []
        found = {lab for s in sentences if self.is_case(s) for lab in self.labels(s)}
        return [lab for lab in self.case_required if lab not in found]


_CLAUSE_BREAK = re.compile(r";|,\s*(?:and|but|while|whereas|although)\s+(?=\w+ (?:is|are|was|were|has|have|should|may)\b)",
                           re.IGNORECASE)


def _norm(text: str) -> str:
    return " ".join(text.split())


def model_input(item_text: str, sentences: Sequence[str], cues: CueMatcher) -> str:
    """The classifier's input for one item: item text, rationale, then the cue tokens of every
    rationale sentence (:meth:`CueMatcher.tokens`)."""
    tokens = [t for s in sentences for t in cues.tokens(s)]
    return "\n".join([_norm(item_text), " ".join(_norm(s) for s in sentences), " ".join(tokens)])


def rationale_sentences(text: str, item: dict[str, Any]) -> list[tuple[int, int]]:
    rs, re_ = item.get("rationale_start"), item.get("rationale_end")
    if rs is None or re_ is None:
        return []
    return split_sentences(text, rs, re_)


# --------------------------------------------------------------------------- model
def make_estimator(Y: np.ndarray, seed: int = 0, C: float = 10.0, calibrate: bool = False,
                   char: bool = False, class_weight: Optional[str] = "balanced", cue_block: bool = True,
                   cue_norm: Optional[str] = None, labels: Sequence[str] = LABELS, cue_vocab: str = "learned",
                   cue_weight: float = 0.3, word_ngrams: tuple = (1, 2), max_features: int = 50000,
                   word_weight: float = 1.0, cue_binary: bool = False, word: bool = True):
    """The scikit-learn Pipeline: word (1-2 gram) TF-IDF [+ char TF-IDF] + cue-token block ->
    one-vs-rest (optionally calibrated) logistic regression. The defaults are the shipped model
    (see ``benchmarks/reasons_model_comparison.py``); the other settings are the candidates it
    compares. Calibration folds shrink to what the rarest label allows (none below 2)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    feats = []
    if word:
        feats.append(("word", TfidfVectorizer(ngram_range=tuple(word_ngrams), min_df=2, sublinear_tf=True,
                                      token_pattern=r"(?u)\b\w[\w-]*\b", max_features=max_features)))
    if char:
        feats.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                              sublinear_tf=True, max_features=100000)))
    if cue_block:
        # the cue tokens as their own block, so that they are not drowned by the thousands of
        # n-gram columns: the eight label tokens (fixed vocabulary, the original form) or every
        # cue token seen in training (label, pattern and role tokens), binary, times cue_weight
        if cue_vocab == "fixed":
            vec = TfidfVectorizer(token_pattern=r"__cue_[a-z_]+__", lowercase=False, use_idf=False,
                                  sublinear_tf=True, norm=cue_norm,
                                  vocabulary=[f"__cue_{lab}__" for lab in labels])
        else:
            vec = TfidfVectorizer(token_pattern=r"__cue_[a-z0-9_]+__", lowercase=False, use_idf=False,
                                  binary=cue_binary, sublinear_tf=True, norm=cue_norm, min_df=1)
        feats.append(("cues", vec))
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
    weights = {"word": float(word_weight), "char": float(word_weight), "cues": float(cue_weight)}
    weights = {k: v for k, v in weights.items() if k in dict(feats)}
    return Pipeline([("features", FeatureUnion(feats, transformer_weights=weights)),
                     ("clf", OneVsRestClassifier(clf))])


def _fit(est, X, Y):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*present in all training examples.*")
        est.fit(X, Y)
    # The vectorizers keep every term they dropped (min_df / max_features) in ``stop_words_``,
    # which is only for introspection (scikit-learn's advice: delete it before saving).
    for _name, vec in est.named_steps["features"].transformer_list:
        if hasattr(vec, "stop_words_"):
            del vec.stop_words_
    return est


THRESHOLD_GRID = np.round(np.arange(0.2, 0.75, 0.05), 2)


def _tune_thresholds(X: list[str], Y: np.ndarray, labels: Sequence[str], seed: int, params: dict,
                     folds: int = 3, min_support: int = 5, groups: Optional[Sequence[str]] = None) -> dict[str, float]:
    """Per-label thresholds maximising F1 on out-of-fold probabilities of the training items
    (labels with fewer than ``min_support`` examples keep the default); ties go to the value
    nearest 0.5. ``groups`` (the items' letters) keeps a letter's items in one inner fold, as
    items of one letter often share most of their rationale."""
    from sklearn.model_selection import KFold

    if len(X) < 2 * folds:
        return {}
    if groups is not None and len(set(groups)) >= folds:
        uniq = sorted(set(groups))
        order = np.random.RandomState(seed).permutation(len(uniq))
        fold_of = {uniq[j]: i % folds for i, j in enumerate(order)}
        splits = [(np.array([i for i, g in enumerate(groups) if fold_of[g] != f]),
                   np.array([i for i, g in enumerate(groups) if fold_of[g] == f])) for f in range(folds)]
    else:
        splits = list(KFold(folds, shuffle=True, random_state=seed).split(X))
    P = np.zeros(Y.shape, dtype=float)
    for tr, te in splits:
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
            threshold: float = 0.5, tune: bool = True, groups: Optional[Sequence[str]] = None,
            **params) -> "ReasonModel":
        """Fit on upheld items: their texts, rationale sentences and label sets. ``tune``: per-label
        thresholds from inner cross-validation on these items (folds by ``groups``, the items'
        letters, when given); ``params`` go to :func:`make_estimator`."""
        cues = load_cues() if cues is None else cues
        matcher = CueMatcher(cues)
        X = [model_input(t, s, matcher) for t, s in zip(item_texts, sentences)]
        Y = np.array([[int(label in set(ls)) for label in labels] for ls in label_sets], dtype=int)
        if len(X) == 0:
            raise ValueError("no upheld items with reasons to train on")
        thresholds = {label: threshold for label in labels}
        if tune:
            thresholds.update(_tune_thresholds(X, Y, labels, seed, params, groups=groups))
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

    def decide(self, probs: np.ndarray, sentences: Optional[Sequence[Sequence[str]]] = None) -> list[list[str]]:
        """Labels at or over their threshold; at least the most probable one. With ``sentences``
        (each item's rationale sentences) the labels of the cue file's ``_case_required`` that no
        case sentence cues are dropped, and the labels of the cue file's ``_rules`` that a case
        sentence cues are added whatever their probability (the hybrid; no rules by default)."""
        out = []
        probs = np.atleast_2d(probs)
        for n, row in enumerate(probs):
            chosen = [lab for lab, p in zip(self.labels, row) if p >= self.thresholds.get(lab, 0.5)]
            barred: set[str] = set()
            if sentences is not None:
                barred = set(self.matcher.unsupported(sentences[n]))
                ruled = set(self.matcher.rule_labels(sentences[n]))
                chosen = [lab for lab in self.labels if lab in ruled or (lab in chosen and lab not in barred)]
            if not chosen and len(row):
                allowed = [k for k, lab in enumerate(self.labels) if lab not in barred] or list(range(len(row)))
                chosen = [self.labels[max(allowed, key=lambda k: row[k])]]
            out.append(chosen)
        return out

    # ---------------------------------------------------------------- serialization
    def to_disk(self, path: Path) -> None:
        import skops.io as sio

        path.mkdir(parents=True, exist_ok=True)
        # deflated: most of the file is skops' JSON schema of the vocabularies, which compresses ~20x
        sio.dump(self.estimator, path / MODEL_FILE, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
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
        self._classify([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Classify a batch of Docs at a time: one ``predict_proba`` for all of the batch's items
        and rationale sentences (scikit-learn's per-call checks cost more than the arithmetic)."""
        for batch in minibatch(stream, size=batch_size):
            self._classify(batch)
            yield from batch

    def _classify(self, docs: list[Doc]) -> None:
        letters = []
        for doc in docs:
            items = doc._.imr_items or []
            for item in items:
                item["denial_reasons"], item["reason_probabilities"], item["reason_evidence"] = [], {}, {}
            upheld = [it for it in items if it.get("decision") == "upheld" and it.get("rationale_start") is not None]
            if upheld:
                letters.append((doc_text(doc), upheld))
        if not letters:
            return
        if self.model is None:
            if not self._warned:
                warnings.warn(f"{self.name}: no trained reasons model; items get no denial_reasons "
                              "(train one with `imr-nlp train reasons`)", stacklevel=3)
                self._warned = True
            return
        self.annotate(letters)

    def annotate(self, letters: Sequence[tuple[str, list[dict[str, Any]]]]) -> None:
        """Predict reasons and evidence, in place, for the upheld item dicts of several letters
        (letter text, its upheld items), with one model call."""
        model = self.model
        rows = []  # (text, item, sentence offsets, sentence texts)
        for text, items in letters:
            for it in items:
                offsets = rationale_sentences(text, it)
                rows.append((text, it, offsets, [text[s:e] for s, e in offsets]))
        # One batch: the items, then each sentence on its own (for evidence).
        X = [model_input(it.get("text", ""), st, model.matcher) for _t, it, _o, st in rows]
        flat = [(i, j) for i, row in enumerate(rows) for j in range(len(row[3]))]
        X += [model_input("", [rows[i][3][j]], model.matcher) for i, j in flat]
        P = model._proba(X)
        item_p, sent_p = P[:len(rows)], P[len(rows):]
        per_item: list[list[np.ndarray]] = [[] for _ in rows]
        for (i, _j), p in zip(flat, sent_p):
            per_item[i].append(p)
        chosen_all = model.decide(item_p, [row[3] for row in rows])
        for i, ((text, item, offsets, sent_texts), p, chosen) in enumerate(zip(rows, item_p, chosen_all)):
            item["reason_probabilities"] = {lab: round(float(v), 4) for lab, v in zip(model.labels, p)}
            item["denial_reasons"] = chosen
            item["reason_evidence"] = {lab: self._evidence(text, offsets, sent_texts, per_item[i],
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
