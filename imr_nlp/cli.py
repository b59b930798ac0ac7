"""``imr-nlp``: parse | tag | evaluate | train entities | train reasons | export-labels."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional, Sequence


def _parse(args: argparse.Namespace) -> int:
    from . import parse

    for source in args.letters:
        letter = parse(Path(source), model=args.model)
        record = letter.to_dict()
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
            continue
        print(f"{source}: case {letter.case_number or '?'}; decided {letter.decision_date or '?'}; "
              f"{len(letter.items)} disputed item(s)")
        for item in letter.items:
            reasons = f" [{', '.join(item.denial_reasons)}]" if item.denial_reasons else ""
            print(f"  {item.index + 1}. {item.text}: {item.decision.upper()}{reasons}")
            for side, cites in (("claims administrator", item.claims_administrator_guidelines),
                                ("reviewer", item.reviewer_guidelines)):
                for c in cites:
                    detail = ", ".join(x for x in (c.document, str(c.year) if c.year else "", "; ".join(c.sections)) if x)
                    print(f"       {side}: {c.source} {detail}")
        counts = {k: len(v) for k, v in record["entities"].items() if v}
        if counts:
            print("  entities: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for w in letter.warnings:
            print(f"  warning: {w}")
    return 0


def _split_cases(split: Optional[str]) -> Optional[set[str]]:
    if not split:
        return None
    path = Path("data/splits.json")
    if not path.exists():
        path = Path(__file__).resolve().parent.parent / "data" / "splits.json"
    return set(json.loads(path.read_text())[split])


def _evaluate(args: argparse.Namespace) -> int:
    from functools import partial

    from . import parse
    from .evaluate import evaluate, format_report

    result = evaluate(Path(args.gold), Path(args.corpus), cases=_split_cases(args.split),
                      parse=partial(parse, model=args.model))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(format_report(result))
    if args.show_mismatches:
        print("\n".join(result["mismatches"]))
    return 0


def _tag(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from .bulk import tag_corpus

    tag_corpus(args.inputs, out=args.out, workers=args.workers, engine=args.engine, scheduler=args.scheduler,
               batch_size=args.batch_size, model=args.model, return_tables=False)

    def rows(table: str) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted((Path(args.out) / table).glob("*.parquet")))

    print(f"{rows('letters')} letters tagged, {rows('failures')} failures -> {args.out}")
    return 0


def _train_entities(args: argparse.Namespace) -> int:
    import tempfile

    from .pipeline import training_base, with_entity_model
    from .training import train_entities

    with tempfile.TemporaryDirectory(prefix="imr-ner-") as work:
        best = train_entities(Path(args.gold), Path(args.corpus), Path(work), cases=_split_cases(args.split))
        nlp = with_entity_model(training_base(args.base), best)
        nlp.to_disk(args.out)
    print(f"saved pipeline {nlp.pipe_names} to {args.out}")
    return 0


def _train_reasons(args: argparse.Namespace) -> int:
    from .training_reasons import train_reasons

    train_reasons(args.labels, args.corpus, args.out, base=args.base, seed=args.seed,
                  cases=_split_cases(args.split))
    return 0


def _export_labels(args: argparse.Namespace) -> int:
    from .training_reasons import export_labels

    n = export_labels(args.corpus, args.out, model=args.model)
    print(f"{n} items -> {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imr-nlp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse letters (.txt/.pdf) and print their structure")
    p.add_argument("letters", nargs="+")
    p.add_argument("--json", action="store_true", help="one ANNOTATION.md JSON record per letter")
    p.add_argument("--model", help="a saved pipeline directory (default: models/imr_pipeline)")
    p.set_defaults(func=_parse)

    p = sub.add_parser("tag", help="bulk-tag a corpus into Parquet tables")
    p.add_argument("inputs", nargs="+", help="folders, globs, .txt/.pdf files, .jsonl/.csv/.parquet tables")
    p.add_argument("--out", required=True)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: the cores)")
    p.add_argument("--engine", choices=("local", "dask"), default="local")
    p.add_argument("--scheduler", help="dask scheduler address tcp://HOST:PORT (default: a LocalCluster)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--model")
    p.set_defaults(func=_tag)

    p = sub.add_parser("evaluate", help="score parse() against gold records (ANNOTATION.md JSONL)")
    p.add_argument("gold")
    p.add_argument("--corpus", required=True, help="folder of the letters, files named by case number")
    p.add_argument("--split", help="only the cases of this split in data/splits.json (train/test)")
    p.add_argument("--model")
    p.add_argument("--json", help="also write the full result as JSON to this file")
    p.add_argument("--show-mismatches", action="store_true")
    p.set_defaults(func=_evaluate)

    train = sub.add_parser("train", help="retrain a model").add_subparsers(dest="what", required=True)
    p = train.add_parser("entities", help="train the entity recognizer from gold mentions")
    p.add_argument("--gold", default="data/gold/dwc-imr-2017.jsonl")
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True, help="where to save the full pipeline")
    p.add_argument("--base", help="pipeline to start from (default: the installed one)")
    p.add_argument("--split", help="train only on the cases of this split in data/splits.json")
    p.set_defaults(func=_train_entities)

    p = train.add_parser("reasons", help="train the denial-reason classifier from labels")
    p.add_argument("--labels", required=True, help="ANNOTATION.md JSONL or CSV case_number,item_index,labels")
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True, help="where to save the full pipeline")
    p.add_argument("--base", help="pipeline to start from (default: the installed one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", help="train only on the cases of this split in data/splits.json")
    p.set_defaults(func=_train_reasons)

    p = sub.add_parser("export-labels", help="write items with predicted reasons to a CSV to correct")
    p.add_argument("corpus")
    p.add_argument("--out", required=True)
    p.add_argument("--model")
    p.set_defaults(func=_export_labels)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader stopped early (``imr-nlp parse letter.txt | head``): not an error; point
        # stdout at devnull so Python's exit-time flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, TypeError, FileNotFoundError, OSError) as err:
        print(f"imr-nlp: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
