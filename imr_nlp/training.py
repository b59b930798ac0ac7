"""Training of the entity model (issue 3): gold mention lists -> DocBin -> ``spacy train``.

Gold records list each label's *distinct mentions* per letter, not offsets. ``project_mentions``
finds every occurrence of each mention in the letter body (case-insensitive, any whitespace or a
line-end hyphen break between words, whole words only), and overlapping occurrences are resolved
longest-first (so "left shoulder sprain" is one DIAGNOSIS; the BODY_PART nested in it is left to
the rules, which can nest). ``cases`` picks the letters to learn from (all gold letters by
default; a split's letters to measure on the others); the dev set that picks the best checkpoint
is a held-out slice of those letters, never other letters.
"""
from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Optional

from spacy.tokens import Doc, DocBin, Span
from spacy.util import filter_spans

from .evaluate import read_gold
from .pipeline import blank
from .sources import letter_text

CONFIG = Path(__file__).resolve().parent / "configs" / "entities.cfg"
MODEL_LABELS = ("DRUG", "TREATMENT", "BODY_PART", "DIAGNOSIS", "GUIDELINE")
# share of training letters also given double-spaced (see build_entity_docbins)
DOUBLE_SPACED_FRACTION = 0.3
# on equal length, which label wins an overlap (a drug named in a treatment stays a drug...)
_PRIORITY = {"DIAGNOSIS": 0, "DRUG": 1, "GUIDELINE": 2, "TREATMENT": 3, "BODY_PART": 4, "DOSE": 5}


def mention_regex(mention: str) -> Optional[re.Pattern[str]]:
    words = mention.strip().rstrip(".,").split()
    if not words:
        return None
    parts = []
    for w in words:
        pieces = [re.escape(p) for p in w.split("-")]
        parts.append(r"-\s*".join(pieces))
    body = r"\s+".join(parts)
    return re.compile(r"(?<![A-Za-z0-9])" + body + r"(?![A-Za-z0-9])", re.IGNORECASE)


def body_start(text: str) -> int:
    m = re.search(r"CLINICAL\s+CASE\s+SUMMARY", text)
    return m.start() if m else 0


def project_mentions(doc: Doc, entities: dict[str, list[str]], labels: Iterable[str] = MODEL_LABELS) -> list[Span]:
    """Non-overlapping spans of every occurrence of the gold mentions in the letter body."""
    text = doc.text
    start = body_start(text)
    spans: list[Span] = []
    for label in labels:
        for mention in entities.get(label, []) or []:
            rx = mention_regex(mention)
            if rx is None:
                continue
            for m in rx.finditer(text, start):
                span = doc.char_span(m.start(), m.end(), label=label, alignment_mode="contract")
                if span is not None and len(span):
                    spans.append(span)
    spans.sort(key=lambda s: (-(s.end - s.start), _PRIORITY.get(s.label_, 9), s.start))
    return filter_spans(spans)


def double_spaced(text: str) -> str:
    """``text`` as 2013-14 letters come out of their PDFs: a blank line after every line, and a
    space before each line end."""
    return "\n\n".join(line + " " for line in text.split("\n"))


def build_entity_docbins(gold: Path, corpus: Path, out_dir: Path, cases: Iterable[str], dev_fraction: float = 0.15,
                         seed: int = 2017, labels: Iterable[str] = MODEL_LABELS,
                         double_spaced_fraction: float = 0.0) -> tuple[Path, Path]:
    """Write ``train.spacy`` and ``dev.spacy`` (dev = a held-out slice of ``cases``) to ``out_dir``.

    ``double_spaced_fraction``: that share of the training letters (seeded) is added a second time,
    double-spaced (:func:`double_spaced`), so that the recognizer does not learn that a mention
    sits next to a one-line break only; the dev letters stay as they are."""
    records = {r["case_number"]: r for r in read_gold(gold)}
    nlp = blank()
    cases = sorted(c for c in cases if c in records)
    rng = random.Random(seed)
    rng.shuffle(cases)
    n_dev = max(1, int(len(cases) * dev_fraction)) if len(cases) > 3 else 0
    dev_cases = set(cases[:n_dev])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bins = {"train": DocBin(), "dev": DocBin()}
    for case in cases:
        rec = records[case]
        path = Path(corpus) / (rec.get("source_file") or f"{case}.txt")
        if not path.exists():
            continue
        text = letter_text(path)  # the text parse() would see
        variants = [text]
        if case not in dev_cases and rng.random() < double_spaced_fraction:
            variants.append(double_spaced(text))
        for variant in variants:
            doc = nlp.make_doc(variant)
            doc.set_ents(project_mentions(doc, rec.get("entities", {}), labels), default="outside")
            bins["dev" if case in dev_cases else "train"].add(doc)
    if not len(bins["dev"]):
        # tiny gold: evaluate on the training docs rather than on nothing
        bins["dev"] = bins["train"]
    paths = out_dir / "train.spacy", out_dir / "dev.spacy"
    bins["train"].to_disk(paths[0])
    bins["dev"].to_disk(paths[1])
    return paths


def train_entities(gold: Path, corpus: Path, out_dir: Path, cases: Optional[Iterable[str]] = None,
                   config: Path = CONFIG, overrides: Optional[dict[str, Any]] = None,
                   double_spaced_fraction: float = DOUBLE_SPACED_FRACTION) -> Path:
    """Train the entity NER on the gold letters (``cases``: only these case numbers); the best
    model lands in ``out_dir/model-best``."""
    if cases is None:
        cases = [r["case_number"] for r in read_gold(gold) if r.get("case_number")]
    cases = list(cases)
    if not cases:
        raise ValueError(f"{gold}: no gold letters to train on")
    out_dir = Path(out_dir)
    train, dev = build_entity_docbins(gold, corpus, out_dir / "corpus", cases,
                                      double_spaced_fraction=double_spaced_fraction)
    cmd = [sys.executable, "-m", "spacy", "train", str(config), "--output", str(out_dir),
           "--paths.train", str(train), "--paths.dev", str(dev)]
    for k, v in (overrides or {}).items():
        cmd += [f"--{k}", str(v)]
    subprocess.run(cmd, check=True)
    return out_dir / "model-best"


if __name__ == "__main__":  # python -m imr_nlp.training GOLD CORPUS OUT
    print(train_entities(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
