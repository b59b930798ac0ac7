"""Retrain the reasons-for-denial classifier (``imr_reasons``) from a label file, without code.

    >>> from imr_nlp.training_reasons import train_reasons, export_labels
    >>> export_labels("letters/", "to_label.csv")            # predictions, least confident first
    >>> # ... correct the ``labels`` column in a spreadsheet ...
    >>> train_reasons("to_label.csv", "letters/", "models/my_pipeline")
    >>> imr_nlp.parse("letter.pdf", model="models/my_pipeline")

Label files (checked completely before anything is written; a problem raises
:class:`LabelFileError` naming the file and line):

* ANNOTATION.md JSON lines: one letter record a line with ``case_number`` and ``items`` in letter
  order, each with ``denial_reasons`` (an item's index is its position).
* CSV with a header containing ``case_number``, ``item_index`` and ``labels`` (labels joined by
  ``;``); other columns (as written by :func:`export_labels`) are ignored. A row with an empty
  ``labels`` cell is an unlabelled item and is skipped.

Items are found in the letters of ``corpus`` (``<case_number>.txt`` or ``.pdf``) by the pipeline's
item reader; ``item_index`` is the item's ``index`` in ``doc._.imr_items`` (0 = first item).
Only upheld items train the classifier (overturned items have no reasons by definition).
"""
from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Any, Optional, Sequence, Union

import numpy as np

from .components.reasons import LABELS, ReasonModel, rationale_sentences
from . import pipeline
from .evaluate import multilabel_scores
from .sources import corpus_letters

PathLike = Union[str, Path]
PARSE_COMPONENTS = ("imr_sections", "imr_header", "imr_items")


class LabelFileError(ValueError):
    """A problem in a label file; the message names the file and the line."""


@dataclass
class LabelRow:
    case_number: str
    item_index: int
    labels: list[str]
    line: int
    decision: Optional[str] = None


@dataclass
class Example:
    """One upheld, labelled item: what the classifier sees and its gold labels."""

    case_number: str
    item_index: int
    item_text: str
    sentences: list[str]
    labels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- label files
def _split_labels(cell: str) -> list[str]:
    return [x.strip() for x in cell.replace(",", ";").split(";") if x.strip()]


def _check_labels(labels: list[str], path: Path, line: int, known: Sequence[str]) -> None:
    for label in labels:
        if label not in known:
            raise LabelFileError(f"{path}, line {line}: unknown label {label!r} (known: {', '.join(known)})")


def read_label_file(path: PathLike, known: Sequence[str] = LABELS) -> list[LabelRow]:
    """Parse a JSONL or CSV label file (see the module docstring) into rows, checking its form."""
    path = Path(path)
    if not path.is_file():
        raise LabelFileError(f"{path}: no such label file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise LabelFileError(f"{path}: not UTF-8 text ({e})") from None
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    rows = _read_jsonl(path, text, known) if first.startswith("{") else _read_csv(path, text, known)
    seen: dict[tuple[str, int], int] = {}
    for r in rows:
        key = (r.case_number, r.item_index)
        if key in seen:
            raise LabelFileError(f"{path}, line {r.line}: case {r.case_number} item {r.item_index} "
                                 f"is already labelled on line {seen[key]}")
        seen[key] = r.line
    if not rows:
        raise LabelFileError(f"{path}: no labelled items")
    return rows


def _read_jsonl(path: Path, text: str, known: Sequence[str]) -> list[LabelRow]:
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise LabelFileError(f"{path}, line {n}: not a JSON object ({e.msg})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("case_number"), str) \
                or not isinstance(rec.get("items"), list):
            raise LabelFileError(f"{path}, line {n}: a record needs 'case_number' (string) and 'items' (list)")
        for i, item in enumerate(rec["items"]):
            if not isinstance(item, dict):
                raise LabelFileError(f"{path}, line {n}: item {i} is not an object")
            labels = item.get("denial_reasons", [])
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise LabelFileError(f"{path}, line {n}: item {i}: 'denial_reasons' must be a list of labels")
            _check_labels(labels, path, n, known)
            rows.append(LabelRow(rec["case_number"].strip(), i, labels, n, item.get("decision")))
    return rows


def _read_csv(path: Path, text: str, known: Sequence[str]) -> list[LabelRow]:
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise LabelFileError(f"{path}: empty label file") from None
    need = ("case_number", "item_index", "labels")
    missing = [c for c in need if c not in header]
    if missing:
        raise LabelFileError(f"{path}, line 1: header lacks column(s) {', '.join(missing)} "
                             f"(expected case_number,item_index,labels)")
    col = {c: header.index(c) for c in need}
    rows = []
    for row in reader:
        n = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise LabelFileError(f"{path}, line {n}: {len(row)} fields where the header has {len(header)}")
        case = row[col["case_number"]].strip()
        idx = row[col["item_index"]].strip()
        if not case:
            raise LabelFileError(f"{path}, line {n}: empty case_number")
        try:
            index = int(idx)
            if index < 0:
                raise ValueError
        except ValueError:
            raise LabelFileError(f"{path}, line {n}: item_index {idx!r} is not a whole number >= 0") from None
        labels = _split_labels(row[col["labels"]])
        _check_labels(labels, path, n, known)
        if labels:
            rows.append(LabelRow(case, index, labels, n))
    return rows


# --------------------------------------------------------------------------- corpus
def _parser(nlp):
    """A context manager that runs only the item-reading components of ``nlp``."""
    enable = [n for n in nlp.pipe_names if n in PARSE_COMPONENTS]
    return nlp.select_pipes(enable=enable)


def collect_examples(rows: list[LabelRow], corpus: PathLike, nlp, label_path: PathLike = "labels") \
        -> tuple[list[Example], dict[str, Any]]:
    """Match label rows to the items the pipeline reads from the corpus letters.

    Raises :class:`LabelFileError` for an unknown case or item index. Returns the upheld,
    labelled items and a report (counts, overturned items with labels, item-count mismatches).
    """
    from .sources import letter_text

    label_path = Path(label_path)
    letters = corpus_letters(corpus)
    for r in rows:
        if r.case_number not in letters:
            raise LabelFileError(f"{label_path}, line {r.line}: unknown case {r.case_number!r} "
                                 f"(no {r.case_number}.txt or .pdf in {corpus})")
    cases = sorted({r.case_number for r in rows})
    parsed: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    with _parser(nlp):
        texts = [letter_text(letters[c]) for c in cases]
        for case, doc in zip(cases, nlp.pipe(texts, batch_size=16)):
            parsed[case] = (doc.text, doc._.imr_items or [])
    report: dict[str, Any] = {"letters": len(cases), "labelled_items": len(rows), "ignored_overturned": [],
                              "decision_mismatches": [], "count_mismatches": []}
    gold_counts: dict[str, int] = {}
    for r in rows:
        gold_counts[r.case_number] = max(gold_counts.get(r.case_number, 0), r.item_index + 1)
    examples = []
    for r in rows:
        text, items = parsed[r.case_number]
        if r.item_index >= len(items):
            raise LabelFileError(f"{label_path}, line {r.line}: unknown item index {r.item_index} for case "
                                 f"{r.case_number} (the letter has {len(items)} item(s), numbered from 0)")
        item = items[r.item_index]
        if r.decision is not None and r.decision != item["decision"]:
            report["decision_mismatches"].append((r.case_number, r.item_index, r.decision, item["decision"]))
        if item["decision"] != "upheld":
            if r.labels:
                report["ignored_overturned"].append((r.case_number, r.item_index))
            continue
        if not r.labels:
            continue
        sents = [text[s:e] for s, e in rationale_sentences(text, item)]
        examples.append(Example(r.case_number, r.item_index, item.get("text", ""), sents, list(r.labels)))
    for case, n in gold_counts.items():
        if n != len(parsed[case][1]):
            report["count_mismatches"].append((case, n, len(parsed[case][1])))
    report["examples"] = len(examples)
    return examples, report


# --------------------------------------------------------------------------- metrics
def format_scores(s: dict[str, Any], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'label':28} {'P':>6} {'R':>6} {'F1':>6} {'n':>5}")
    for label, m in s["per_label"].items():
        lines.append(f"{label:28} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:5d}")
    mi, ma = s["micro"], s["macro"]
    lines.append(f"{'micro':28} {mi['precision']:6.3f} {mi['recall']:6.3f} {mi['f1']:6.3f} {s['n_items']:5d}")
    lines.append(f"{'macro (n>=5: %d labels)' % len(s['macro_labels']):28} {ma['precision']:6.3f} {ma['recall']:6.3f} "
                 f"{ma['f1']:6.3f}")
    return "\n".join(lines)


def case_folds(cases: Sequence[str], k: int, seed: int = 0) -> list[np.ndarray]:
    """Fold number per example, whole letters kept together, seeded."""
    uniq = sorted(set(cases))
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(uniq))
    fold_of = {uniq[j]: i % k for i, j in enumerate(order)}
    return np.array([fold_of[c] for c in cases])


def cross_validate(examples: list[Example], k: int = 5, seed: int = 0, fit=None) -> tuple[list[list[str]], dict]:
    """Cross-validated predictions (folds by letter) and their scores. ``fit(train_examples)``
    returns an object with ``predict(examples) -> list[list[str]]`` (default: the shipped model)."""
    fit = fit or (lambda ex: _SkModel(ex, seed))
    cases = [e.case_number for e in examples]
    k = max(2, min(k, len(set(cases))))
    folds = case_folds(cases, k, seed)
    pred: list[list[str]] = [[] for _ in examples]
    for f in range(k):
        train = [e for e, g in zip(examples, folds) if g != f]
        test_idx = [i for i, g in enumerate(folds) if g == f]
        if not train or not test_idx:
            continue
        model = fit(train)
        for i, p in zip(test_idx, model.predict([examples[i] for i in test_idx])):
            pred[i] = p
    return pred, multilabel_scores([e.labels for e in examples], pred, LABELS)


class _SkModel:
    def __init__(self, examples: list[Example], seed: int = 0, **params):
        self.model = fit_model(examples, seed, **params)

    def predict(self, examples: list[Example]) -> list[list[str]]:
        P = self.model.predict_proba([e.item_text for e in examples], [e.sentences for e in examples])
        return self.model.decide(P, [e.sentences for e in examples])


def fit_model(examples: list[Example], seed: int = 0, **params) -> ReasonModel:
    """The shipped model (``ReasonModel.fit`` defaults: word n-grams + cue block, per-label
    thresholds tuned by inner 3-fold cross-validation over the training items). ``group_tuning``:
    inner folds by letter instead (measured no better: benchmarks/reasons_model_comparison.py)."""
    groups = [e.case_number for e in examples] if params.pop("group_tuning", False) else None
    return ReasonModel.fit([e.item_text for e in examples], [e.sentences for e in examples],
                           [e.labels for e in examples], seed=seed, groups=groups, **params)


# --------------------------------------------------------------------------- pipelines
def train_reasons(labels: PathLike, corpus: PathLike, out: PathLike, base: Optional[PathLike] = None,
                  seed: int = 0, cv_folds: int = 5, verbose: bool = True,
                  cases: Optional[Iterable[str]] = None) -> dict[str, Any]:
    """Fit the reasons classifier on a label file and save the full pipeline to ``out``.

    ``labels``: ANNOTATION.md JSONL or CSV ``case_number,item_index,labels``; ``corpus``: folder
    of the letters (``<case_number>.txt``/``.pdf``); ``base``: the pipeline to add ``imr_reasons``
    to (default: the one ``imr_nlp.load()`` loads). Prints cross-validated (by letter) per-label
    P/R/F1, then saves ``base`` + the new ``imr_reasons`` with ``nlp.to_disk(out)``. Deterministic
    for a given ``seed``. A bad label file raises :class:`LabelFileError` before anything is
    written. ``cases`` limits training to those case numbers (e.g. a train split). Returns a
    summary dict (counts, cross-validated scores, output path).
    """
    from .components import reasons as _reasons  # noqa: F401  (registers imr_reasons)

    rows = read_label_file(labels)
    if cases is not None:
        keep = set(cases)
        rows = [r for r in rows if r.case_number in keep]
    nlp = pipeline.training_base(base)
    examples, report = collect_examples(rows, corpus, nlp, labels)
    if not examples:
        raise LabelFileError(f"{labels}: no labelled upheld items found in the corpus")
    out_lines = []
    for case, n_gold, n_found in report["count_mismatches"]:
        out_lines.append(f"note: {case}: label file has {n_gold} item(s), the letter reader found {n_found}")
    for case, idx, gold_dec, dec in report["decision_mismatches"]:
        out_lines.append(f"note: {case} item {idx}: label file says {gold_dec}, the reader says {dec}")
    if report["ignored_overturned"]:
        out_lines.append(f"note: {len(report['ignored_overturned'])} overturned item(s) with labels ignored")
    cv = None
    if len({e.case_number for e in examples}) >= 2:
        _, cv = cross_validate(examples, k=cv_folds, seed=seed)
        out_lines.append(format_scores(cv, f"cross-validated by letter ({min(cv_folds, len({e.case_number for e in examples}))} folds), "
                                           f"{len(examples)} upheld items from {report['letters']} letters:"))
    model = fit_model(examples, seed)
    if "imr_reasons" in nlp.pipe_names:
        nlp.remove_pipe("imr_reasons")
    comp = nlp.add_pipe("imr_reasons", last=True)
    comp.model = model
    out = Path(out)
    nlp.to_disk(out)
    out_lines.append(f"saved pipeline {nlp.pipe_names} to {out}")
    if verbose:
        print("\n".join(out_lines), file=sys.stdout)
    return {"out": str(out), "n_examples": len(examples), "n_letters": report["letters"],
            "support": model.info["support"], "cv": cv, "report": report, "pipe_names": list(nlp.pipe_names)}


def export_labels(corpus: PathLike, out_csv: PathLike, model: Optional[PathLike] = None) -> int:
    """Write one CSV row per disputed item of the corpus letters, with the predicted reasons, for
    correcting by hand and feeding back to :func:`train_reasons`.

    Columns: case_number, item_index, item_text, decision, labels (``;``-joined predictions),
    then ``p_<label>`` per label. Rows are sorted least confident first (upheld items whose
    probabilities lie closest to their thresholds); overturned items come last. Returns the
    number of rows written.
    """
    from . import pipeline
    from .sources import letter_text

    nlp = pipeline.load(model)
    letters = corpus_letters(corpus)
    comp = nlp.get_pipe("imr_reasons") if "imr_reasons" in nlp.pipe_names else None
    label_names = list(comp.model.labels) if comp is not None and comp.model is not None else list(LABELS)
    thresholds = comp.model.thresholds if comp is not None and comp.model is not None else {}
    rows = []
    cases = list(letters)
    for case, doc in zip(cases, nlp.pipe((letter_text(letters[c]) for c in cases), batch_size=8)):
        for item in doc._.imr_items or []:
            probs = item.get("reason_probabilities") or {}
            if item.get("decision") == "upheld" and probs:
                conf = min(abs(probs.get(lab, 0.0) - thresholds.get(lab, 0.5)) for lab in label_names)
            else:
                conf = float("inf")
            rows.append((conf, case, item["index"], {
                "case_number": case, "item_index": item["index"], "item_text": item.get("text", ""),
                "decision": item.get("decision", ""), "labels": ";".join(item.get("denial_reasons") or []),
                **{f"p_{lab}": (f"{probs[lab]:.4f}" if lab in probs else "") for lab in label_names}}))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    out_csv = Path(out_csv)
    if out_csv.parent and not out_csv.parent.exists():
        out_csv.parent.mkdir(parents=True, exist_ok=True)
    fields = ["case_number", "item_index", "item_text", "decision", "labels"] + [f"p_{lab}" for lab in label_names]
    with out_csv.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for *_k, row in rows:
            w.writerow(row)
    return len(rows)
