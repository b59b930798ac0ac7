"""How much a letter's result moves when its PDF text comes out in another shape.

    .venv/bin/python benchmarks/layout_robustness.py [--split train] [--limit N]

Why: letters the library has never seen arrive as text from other extractors and other years'
layouts (2013-14 letters are double-spaced, with upper-case item names; PDF text keeps page
headers and footers, wraps lines at other widths, may lose a heading). Each train letter is
parsed as it is and after one change of shape at a time; the script counts the letters whose
structure (header, reviewer, item texts, decisions, item fields, citations, reasons) or entity
mentions (compared case-blind) differ from the clean parse. Offsets are not compared (removed
page furniture shifts them by design). Only the train letters are used, so the test letters
stay unseen.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import imr_nlp  # noqa: E402
from imr_nlp.components.sections import DEFAULT_HEADINGS  # noqa: E402
from imr_nlp.training import double_spaced  # noqa: E402

SPLITS = ROOT / "data" / "splits.json"
CORPUS = Path(os.environ.get("IMR_SHARED", ROOT.parent / "shared")) / "corpus" / "dwc-imr-2017" / "txt"
ITEM_FIELDS = ("text", "decision", "treatment", "drugs", "dose", "quantity", "frequency", "body_parts",
               "claims_administrator_guidelines", "reviewer_guidelines", "denial_reasons")


def page_furniture(text: str, case: str) -> str:
    """A footer "Page n of 9" and a running header "<case>  Page n+1 of 9" every 37 lines."""
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        out.append(line)
        if n % 37 == 0:
            page = n // 37
            out += ["", f"Page {page} of 9", f"\f{case}   Page {page + 1} of 9", ""]
    return "\n".join(out)


def rewrapped(text: str, case: str, width: int = 60) -> str:
    return "\n".join("\n".join(textwrap.wrap(line, width)) if len(line) > width else line
                     for line in text.split("\n"))


def windows_line_ends(text: str, case: str) -> str:
    return text.replace("\n", "\r\n")


def upper_case_items(text: str, case: str) -> str:
    for item in reversed(imr_nlp.parse(text).items):
        text = text[:item.start] + text[item.start:item.end].upper() + text[item.end:]
    return text


def headings_lost(text: str, case: str) -> str:
    for heading in DEFAULT_HEADINGS.values():
        text = text.replace(heading, "")
    return text


SHAPES: dict[str, Callable[[str, str], str]] = {
    "page headers and footers": page_furniture,
    "double-spaced": lambda text, case: double_spaced(text),
    "re-wrapped at 60 columns": rewrapped,
    "Windows line ends": windows_line_ends,
    "upper-case item names": upper_case_items,
    "section headings lost": headings_lost,
    "two spaces between words": lambda text, case: re.sub(r"(?<=[\w.,]) (?=\w)", "  ", text),
    "ligatures, soft hyphens, en dashes": lambda text, case: re.sub(
        r"(?<=\w)-(?=\w)", "\u2013", text.replace("fi", "\ufb01").replace("fl", "\ufb02").replace("tion", "ti\u00adon")),
}


def differences(clean: dict, other: dict) -> tuple[list[str], list[str]]:
    """(structure fields that differ, entity labels whose mentions differ)."""
    structure = [k for k in ("case_number", "header", "reviewer", "patient") if clean.get(k) != other.get(k)]
    if len(clean["items"]) != len(other["items"]):
        structure.append("items")
    else:
        for a, b in zip(clean["items"], other["items"]):
            structure += [f"item.{k}" for k in ITEM_FIELDS
                          if json.dumps(a.get(k), sort_keys=True).lower() != json.dumps(b.get(k), sort_keys=True).lower()]
    entities = [label for label in clean["entities"]
                if {m.lower() for m in clean["entities"][label]} != {m.lower() for m in other["entities"][label]}]
    return sorted(set(structure)), entities


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="train")
    ap.add_argument("--limit", type=int)
    args = ap.parse_args(argv)
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS}: corpus not found (set IMR_SHARED)")
    cases = sorted(json.loads(SPLITS.read_text())[args.split])[:args.limit]
    clean = {}
    for c in cases:
        clean[c] = imr_nlp.parse((CORPUS / f"{c}.txt").read_text(encoding="utf-8")).to_dict()
    print(f"{len(cases)} {args.split} letters; letters whose result differs from the clean parse:")
    print(f"  {'shape':28s} {'structure':>9s} {'entities':>9s}  what differed")
    for name, shape in SHAPES.items():
        n_struct = n_ent = 0
        what: dict[str, int] = {}
        for c in cases:
            text = (CORPUS / f"{c}.txt").read_text(encoding="utf-8")
            structure, entities = differences(clean[c], imr_nlp.parse(shape(text, c)).to_dict())
            n_struct += bool(structure)
            n_ent += bool(entities)
            for k in structure + entities:
                what[k] = what.get(k, 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in sorted(what.items(), key=lambda kv: -kv[1]))
        print(f"  {name:28s} {n_struct:9d} {n_ent:9d}  {detail}")


if __name__ == "__main__":
    main()
