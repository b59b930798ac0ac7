"""Score ``parse()`` against gold records in the ANNOTATION.md format.

Figures printed (and returned as a dict):
- header-field accuracy (case number and the six header fields), reviewer and patient accuracy;
- items found (recall of gold items; precision of predicted items) and decision accuracy;
- citation P/R/F1 on (source, document) pairs, per item and side;
- entity P/R/F1 per label, exact (same mention, case and spacing ignored) and word-overlap (a
  predicted mention matched one-to-one to a gold mention of the label sharing a content word);
- reason P/R/F1 per label with micro and macro averages, over the gold upheld items.

Documents are compared after folding case, punctuation, "&"/"and" and the generic words
"guideline(s)", "chapter" and "section": "Low Back Chapter" and "low back" name one document.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from .components.reasons import LABELS as REASON_LABELS
from .letter import ENTITY_LABELS
from .text import one_line, plain_chars

# item fields scored on the matched items (ANNOTATION.md "Item fields")
ITEM_FIELDS = ("text", "treatment", "drugs", "dose", "quantity")
HEADER_FIELDS = ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date", "priority",
                 "application_received")
STOPWORDS = {"the", "of", "and", "a", "an", "in", "on", "to", "for", "with", "or", "at", "by", "&", "-", "/"}


class GoldFileError(ValueError):
    """A gold file line that is not a valid record; the message names the file and line."""


def read_gold(path: Path) -> list[dict[str, Any]]:
    records = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise GoldFileError(f"{path}:{n}: not JSON ({err.msg})") from err
        if not isinstance(record, dict) or "items" not in record:
            raise GoldFileError(f"{path}:{n}: not a letter record (no 'items')")
        records.append(record)
    return records


def find_letter(record: dict[str, Any], letters: dict[str, Path]) -> Path:
    """The letter file of a gold record: by case number or source_file stem (see ``corpus_letters``)."""
    stems = [s for s in (record.get("case_number"), Path(record.get("source_file") or "").stem) if s]
    for stem in stems:
        if stem in letters:
            return letters[stem]
    raise FileNotFoundError(f"no letter for gold record {stems} in the corpus folder")


def norm_text(text: Optional[str]) -> str:
    return one_line(plain_chars((text or "").lower())).strip(" .,;:")


def norm_document(text: Optional[str]) -> str:
    text = norm_text(text).replace("&", " and ")
    text = re.sub(r"\b(guidelines?|chapters?|sections?)\b", " ", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[\w']+", text.lower()) if w not in STOPWORDS}


class PRF:
    """Counts for precision/recall/F1. Matched predictions and matched gold are counted apart,
    because a word-overlap match need not pair them one for one in number."""

    def __init__(self) -> None:
        self.matched_pred = self.matched_gold = self.pred = self.gold = 0

    def add(self, tp: int, pred: int, gold: int, tp_gold: Optional[int] = None) -> None:
        self.matched_pred += tp
        self.matched_gold += tp if tp_gold is None else tp_gold
        self.pred += pred
        self.gold += gold

    def scores(self) -> dict[str, float]:
        p = self.matched_pred / self.pred if self.pred else 0.0
        r = self.matched_gold / self.gold if self.gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": p, "recall": r, "f1": f, "support": self.gold}


def multilabel_scores(gold: list[list[str]], pred: list[list[str]], labels: Iterable[str] = REASON_LABELS,
                      min_support: int = 5) -> dict[str, Any]:
    """Per-label P/R/F1 of multi-label predictions, micro over all labels and macro over the
    labels with at least ``min_support`` gold examples (the reasons figures, here and in training)."""
    labels = list(labels)
    per: dict[str, dict[str, float]] = {}
    micro = PRF()
    for label in labels:
        counts = PRF()
        counts.add(sum(label in g and label in p for g, p in zip(gold, pred)),
                   sum(label in p for p in pred), sum(label in g for g in gold))
        per[label] = counts.scores()
        micro.add(counts.matched_pred, counts.pred, counts.gold)
    frequent = [label for label in labels if per[label]["support"] >= min_support]
    macro = {k: (sum(per[label][k] for label in frequent) / len(frequent) if frequent else 0.0)
             for k in ("precision", "recall", "f1")}
    return {"per_label": per, "micro": micro.scores(), "macro": macro, "macro_labels": frequent,
            "n_items": len(gold)}


def multiset_tp(pred: Iterable[Any], gold: Iterable[Any]) -> int:
    return sum((Counter(pred) & Counter(gold)).values())


def overlap_tp(pred: list[str], gold: list[str]) -> tuple[int, int]:
    """Greedy one-to-one matching of mentions that share a content word: (matched pred, matched gold)."""
    used: set[int] = set()
    matched = 0
    for p in sorted(pred, key=len, reverse=True):
        pw = content_words(p)
        best = None
        for j, g in enumerate(gold):
            if j in used:
                continue
            if norm_text(p) == norm_text(g):
                best = j
                break
            if best is None and pw & content_words(g):
                best = j
        if best is not None:
            used.add(best)
            matched += 1
    return matched, len(used)


def match_items(pred: list[dict[str, Any]], gold: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs (pred index, gold index): by position when the counts agree, else by text overlap."""
    if len(pred) == len(gold):
        return list(zip(range(len(pred)), range(len(gold))))
    pairs, used = [], set()
    for gi, g in enumerate(gold):
        gw = content_words(g["text"])
        best, best_score = None, 0.5
        for pi, p in enumerate(pred):
            if pi in used:
                continue
            pw = content_words(p["text"])
            score = len(gw & pw) / max(len(gw | pw), 1)
            if score > best_score:
                best, best_score = pi, score
        if best is not None:
            used.add(best)
            pairs.append((best, gi))
    return pairs


def add_entity_mentions(pred: dict[str, Any], gold: dict[str, Any], exact: dict[str, PRF],
                        overlap: dict[str, PRF]) -> dict[str, tuple[list[str], list[str]]]:
    """Count one letter's distinct entity mentions per label into ``exact`` and word-``overlap``
    tallies; returns each label's (missed, spurious) mentions."""
    diffs = {}
    for label in ENTITY_LABELS:
        pm = sorted({norm_text(m) for m in pred.get("entities", {}).get(label, [])})
        gm = sorted({norm_text(m) for m in gold.get("entities", {}).get(label, [])})
        exact[label].add(len(set(pm) & set(gm)), len(pm), len(gm))
        mp, mg = overlap_tp(pm, gm)
        overlap[label].add(mp, len(pm), len(gm), tp_gold=mg)
        diffs[label] = (sorted(set(gm) - set(pm)), sorted(set(pm) - set(gm)))
    return diffs


def _item_field(item: dict[str, Any], name: str) -> Any:
    """An item field in comparable form: text folded as entity mentions are, drug lists as sets."""
    value = item.get(name)
    if name == "drugs":
        return sorted({norm_text(d) for d in value or []})
    return norm_text(value) if value else None


def score(pairs: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Score (predicted record, gold record) pairs; both in the ANNOTATION.md schema."""
    header = Counter()
    header_total = Counter()
    items_gold = items_pred = items_found = 0
    decisions_ok = decisions_n = 0
    item_fields_ok: Counter = Counter()
    item_fields_n: Counter = Counter()
    citations = PRF()
    citations_full = PRF()
    ent_exact = {label: PRF() for label in ENTITY_LABELS}
    ent_overlap = {label: PRF() for label in ENTITY_LABELS}
    reasons_gold: list[list[str]] = []
    reasons_pred: list[list[str]] = []
    letters = 0
    mismatches: list[str] = []
    for pred, gold in pairs:
        letters += 1
        case = gold.get("case_number") or gold.get("source_file")
        fields = {"case_number": (pred.get("case_number"), gold.get("case_number"))}
        fields.update({f: (pred["header"].get(f), gold["header"].get(f)) for f in HEADER_FIELDS})
        fields["licensure"] = (sorted(map(norm_text, pred["reviewer"]["licensure"])),
                               sorted(map(norm_text, gold["reviewer"]["licensure"])))
        fields["specialty"] = (sorted(map(norm_text, pred["reviewer"]["specialty"])),
                               sorted(map(norm_text, gold["reviewer"]["specialty"])))
        fields["age"] = (pred["patient"].get("age"), gold["patient"].get("age"))
        fields["sex"] = (pred["patient"].get("sex"), gold["patient"].get("sex"))
        for name, (p, g) in fields.items():
            header_total[name] += 1
            if p == g:
                header[name] += 1
            else:
                mismatches.append(f"{case}: {name}: predicted {p!r}, gold {g!r}")
        items_gold += len(gold["items"])
        items_pred += len(pred["items"])
        matched = match_items(pred["items"], gold["items"])
        items_found += len(matched)
        for pi, gi in matched:
            p, g = pred["items"][pi], gold["items"][gi]
            decisions_n += 1
            if p["decision"] == g["decision"]:
                decisions_ok += 1
            else:
                mismatches.append(f"{case}: item {gi} decision: predicted {p['decision']}, gold {g['decision']}")
            for name in ITEM_FIELDS:
                if name not in g:
                    continue
                pv, gv = _item_field(p, name), _item_field(g, name)
                item_fields_n[name] += 1
                if pv == gv:
                    item_fields_ok[name] += 1
                else:
                    mismatches.append(f"{case}: item {gi} {name}: predicted {p.get(name)!r}, gold {g.get(name)!r}")
            for side in ("claims_administrator_guidelines", "reviewer_guidelines"):
                pc = [(c["source"], norm_document(c["document"])) for c in p.get(side, [])]
                gc = [(c["source"], norm_document(c["document"])) for c in g.get(side, [])]
                citations.add(multiset_tp(pc, gc), len(pc), len(gc))
                pf = [(*k, c.get("year"), tuple(sorted(map(norm_text, c.get("sections", [])))))
                      for k, c in zip(pc, p.get(side, []))]
                gf = [(*k, c.get("year"), tuple(sorted(map(norm_text, c.get("sections", [])))))
                      for k, c in zip(gc, g.get(side, []))]
                citations_full.add(multiset_tp(pf, gf), len(pf), len(gf))
                if Counter(pc) != Counter(gc):
                    mismatches.append(f"{case}: item {gi} {side}: predicted {pc}, gold {gc}")
            if g["decision"] == "upheld" and "denial_reasons" in g:
                reasons_gold.append(list(g.get("denial_reasons") or []))
                reasons_pred.append(list(p.get("denial_reasons") or []))
        for label, (missed, spurious) in add_entity_mentions(pred, gold, ent_exact, ent_overlap).items():
            if missed or spurious:
                mismatches.append(f"{case}: {label}: missed {missed}, spurious {spurious}")

    reasons = multilabel_scores(reasons_gold, reasons_pred)
    return {
        "letters": letters,
        "header_accuracy": {k: header[k] / header_total[k] for k in header_total},
        "header_fields_accuracy": (sum(header[k] for k in ("case_number", *HEADER_FIELDS))
                                   / max(sum(header_total[k] for k in ("case_number", *HEADER_FIELDS)), 1)),
        "items": {"gold": items_gold, "predicted": items_pred, "found": items_found,
                  "recall": items_found / items_gold if items_gold else 0.0,
                  "precision": items_found / items_pred if items_pred else 0.0},
        "decision_accuracy": decisions_ok / decisions_n if decisions_n else 0.0,
        "item_fields_accuracy": {k: item_fields_ok[k] / item_fields_n[k] for k in ITEM_FIELDS if item_fields_n[k]},
        "citations": citations.scores(),
        "citations_with_year_and_sections": citations_full.scores(),
        "entities_exact": {k: v.scores() for k, v in ent_exact.items()},
        "entities_overlap": {k: v.scores() for k, v in ent_overlap.items()},
        "reasons": reasons["per_label"],
        "reasons_micro": reasons["micro"],
        "reasons_macro_f1_frequent": reasons["macro"]["f1"],
        "reasons_frequent_labels": reasons["macro_labels"],
        "mismatches": mismatches,
    }


def evaluate(gold_path: Path, corpus: Path, cases: Optional[set[str]] = None,
             parse: Optional[Callable[[Path], Any]] = None) -> dict[str, Any]:
    """Parse each gold record's letter from ``corpus`` and score the results."""
    if parse is None:
        from . import parse as parse_letter

        parse = parse_letter
    records = [r for r in read_gold(gold_path) if cases is None or r.get("case_number") in cases]
    from .sources import corpus_letters

    letters = corpus_letters(corpus)
    pairs = [(parse(find_letter(r, letters)).to_dict(), r) for r in records]
    return score(pairs)


def format_report(result: dict[str, Any]) -> str:
    """The figures as plain-text tables."""
    lines = [f"letters scored: {result['letters']}",
             f"header fields (case number + 6 header fields) accuracy: {result['header_fields_accuracy']:.3f}"]
    for k, v in result["header_accuracy"].items():
        lines.append(f"  {k:22s} {v:.3f}")
    it = result["items"]
    lines += [f"items found: {it['found']}/{it['gold']} (recall {it['recall']:.3f}, precision {it['precision']:.3f})",
              f"decision accuracy: {result['decision_accuracy']:.3f}"]
    if result.get("item_fields_accuracy"):
        lines.append("item fields accuracy: " + ", ".join(f"{k} {v:.3f}"
                                                          for k, v in result["item_fields_accuracy"].items()))
    c, cf = result["citations"], result["citations_with_year_and_sections"]
    lines.append(f"citations (source, document): P {c['precision']:.3f} R {c['recall']:.3f} F1 {c['f1']:.3f} "
                 f"(n={c['support']}); with year and sections: F1 {cf['f1']:.3f}")
    lines.append("entities           exact P/R/F1          word-overlap P/R/F1   support")
    for label in ENTITY_LABELS:
        e, o = result["entities_exact"][label], result["entities_overlap"][label]
        lines.append(f"  {label:10s} {e['precision']:.3f} {e['recall']:.3f} {e['f1']:.3f}    "
                     f"{o['precision']:.3f} {o['recall']:.3f} {o['f1']:.3f}    {e['support']}")
    lines.append("reasons                       P     R     F1    support")
    for label, s in result["reasons"].items():
        lines.append(f"  {label:26s} {s['precision']:.3f} {s['recall']:.3f} {s['f1']:.3f} {s['support']}")
    m = result["reasons_micro"]
    lines.append(f"  micro                      {m['precision']:.3f} {m['recall']:.3f} {m['f1']:.3f} {m['support']}")
    lines.append(f"  macro F1 (labels with >= 5 gold): {result['reasons_macro_f1_frequent']:.3f}")
    return "\n".join(lines)
