"""Merge the per-letter gold records in data/gold/parts/*.json into data/gold/dwc-imr-2017.jsonl
(one record a line, sorted by case number). Annotators write one file per letter so that they can
work in parallel; the library reads the merged JSONL."""
import json
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "data" / "gold"
records = [json.loads(p.read_text()) for p in sorted((root / "parts").glob("*.json"))]
records.sort(key=lambda r: r["case_number"] or "")
out = root / "dwc-imr-2017.jsonl"
out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
print(f"{len(records)} records -> {out}", file=sys.stderr)
