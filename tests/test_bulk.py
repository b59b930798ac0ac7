"""``imr_nlp.tag_corpus``: every input ends as a row, resume after a kill, same tables with 1 or 2
workers and with the Dask engine.

The bulk machinery only depends on ``Letter.tables()``, so these tests run a pipeline of the core
components saved to a temporary folder: fast, and independent of the trained models.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import imr_nlp
from imr_nlp.bulk import TABLES

from conftest import CORPUS, require_shared

N_TXT = 3


@pytest.fixture(scope="module")
def core_model(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("core_model")
    imr_nlp.build_pipeline(with_entities=False).to_disk(path)
    return str(path)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    """A folder of letters and broken files, and three tables; letter text read from ../shared."""
    require_shared()
    base = tmp_path_factory.mktemp("bulk_inputs")
    folder = base / "letters"
    folder.mkdir()
    txts = sorted((CORPUS / "txt").glob("*.txt"))
    for p in txts[:N_TXT]:
        (folder / p.name).write_bytes(p.read_bytes())
    pdf = sorted((CORPUS / "pdf").glob("*.pdf"))[N_TXT]
    (folder / pdf.name).write_bytes(pdf.read_bytes())
    (folder / "corrupt.pdf").write_bytes(pdf.read_bytes()[:2000])  # truncated: not a readable PDF
    (folder / "empty.txt").write_bytes(b"")
    (folder / "shopping.txt").write_text("Shopping list\n\nEggs, milk, bread.\nCall the plumber on Monday.\n")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not a letter")  # not a letter type: not collected

    texts = [p.read_text() for p in txts[N_TXT:N_TXT + 4]]
    jsonl = base / "batch.jsonl"
    jsonl.write_text("\n".join([
        json.dumps({"id": "J1", "text": texts[0]}),
        "{this is not json",
        json.dumps({"id": "J3", "text": "   "}),
        "",
    ]) + "\n")
    csv = base / "batch.csv"
    pd.DataFrame({"case": ["C1", "C2"], "body": texts[1:3]}).to_csv(csv, index=False)
    parquet = base / "batch.parquet"
    pd.DataFrame({"id": ["P1"], "text": texts[3]}).to_parquet(parquet)
    return {"folder": folder, "jsonl": jsonl, "csv": csv, "parquet": parquet, "missing": base / "missing.txt",
            "letters": [p.stem for p in txts[:N_TXT]] + [pdf.stem]}


def all_inputs(inputs) -> list[str]:
    return [str(inputs["folder"]), str(inputs["jsonl"]), str(inputs["parquet"]), str(inputs["missing"])]


def tag(inputs, core_model, **kw):
    return imr_nlp.tag_corpus(all_inputs(inputs), model=core_model, progress=False, batch_size=3, **kw)


@pytest.fixture(scope="module")
def serial(inputs, core_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial_out")
    return tag(inputs, core_model, out=out, workers=1), out


def canonical(tables: dict) -> dict:
    """Tables in doc_id order (rows of one document keep their order)."""
    return {t: f.sort_values("doc_id", kind="stable").reset_index(drop=True) for t, f in tables.items()}


def assert_same_tables(a: dict, b: dict) -> None:
    assert set(a) == set(b) == set(TABLES)
    for table in TABLES:
        pd.testing.assert_frame_equal(a[table], b[table], obj=table)


def test_every_input_is_a_letter_or_a_failure(serial, inputs):
    tables, out = serial
    letters, failures = tables["letters"], tables["failures"]
    assert list(failures.columns) == ["doc_id", "source", "error_type", "message"]
    assert not letters.doc_id.duplicated().any() and not failures.doc_id.duplicated().any()
    assert not set(letters.doc_id) & set(failures.doc_id)
    # the IMR letters, including the one read from a PDF, and a non-letter with warnings
    assert set(inputs["letters"]) | {"shopping", "J1", "P1"} == set(letters.doc_id)
    real = letters[letters.doc_id.isin(inputs["letters"])]
    assert (real.n_items > 0).all() and real.case_number.notna().all()
    assert "not an IMR letter" in letters.set_index("doc_id").loc["shopping", "warnings"]
    kinds = dict(zip(failures.doc_id, failures.error_type))
    assert kinds["corrupt"] == "LetterSourceError"
    assert kinds["empty"] == "ValueError"
    assert kinds["J3"] == "ValueError"  # blank text in a table
    assert kinds["batch:2"] == "JSONDecodeError"  # bad jsonl line, named by table and line
    assert kinds[str(inputs["missing"])] == "LetterSourceError"
    assert set(kinds) == {"corrupt", "empty", "J3", "batch:2", str(inputs["missing"])}
    assert all(str(inputs["folder"]) in s for s in failures.source if "corrupt" in s or "empty" in s)
    # rows of the other tables belong to tagged letters
    assert len(tables["items"]) == letters.n_items.sum()
    for table in ("items", "citations", "entities", "reasons"):
        assert set(tables[table].doc_id) <= set(letters.doc_id)
    # Parquet parts on disk are what was returned
    on_disk = pd.read_parquet(out / "letters")
    assert sorted(on_disk.doc_id) == sorted(letters.doc_id)


def test_csv_columns_and_in_memory(inputs, core_model):
    tables = imr_nlp.tag_corpus(inputs["csv"], workers=1, model=core_model, progress=False,
                                id_column="case", text_column="body")
    assert list(tables["letters"].doc_id) == ["C1", "C2"]
    assert tables["letters"].source.str.endswith(("batch.csv:1", "batch.csv:2")).all()
    missing_col = imr_nlp.tag_corpus(inputs["csv"], workers=1, model=core_model, progress=False)
    assert missing_col["letters"].empty
    assert missing_col["failures"].error_type.tolist() == ["KeyError"]  # no 'text' column: one failure row


def test_resume_skips_done_and_cleans_a_killed_batch(serial, inputs, core_model, tmp_path):
    out = tmp_path / "out"
    # first run: only part of the inputs
    first = imr_nlp.tag_corpus([str(inputs["folder"])], out=out, workers=1, model=core_model, progress=False,
                               batch_size=2)
    assert len(first["letters"]) + len(first["failures"]) == 7
    # what a kill in the middle of a batch leaves: a staged part, an uncommitted part, a tmp marker
    (out / "_staging" / "items-part-00077.parquet").write_bytes(b"half written")
    part = next((out / "letters").glob("part-*.parquet"))
    (out / "letters" / "part-00077.parquet").write_bytes(part.read_bytes())  # no marker: not committed
    (out / "_staging" / "part-00077.json").write_text("{")
    again = tag(inputs, core_model, out=out, workers=1)
    assert_same_tables(canonical(again), canonical(serial[0]))
    assert not (out / "letters" / "part-00077.parquet").exists()
    # a third run has nothing to do and writes nothing
    parts = sorted(p.name for p in out.rglob("part-*"))
    third = tag(inputs, core_model, out=out, workers=1)
    assert sorted(p.name for p in out.rglob("part-*")) == parts
    assert_same_tables(canonical(third), canonical(serial[0]))


def test_resume_after_sigkill(serial, inputs, core_model, tmp_path):
    out = tmp_path / "out"
    code = ("import sys, imr_nlp; imr_nlp.tag_corpus(sys.argv[1:-2], out=sys.argv[-2], model=sys.argv[-1], "
            "workers=1, batch_size=1, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, *all_inputs(inputs), str(out), core_model],
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            if len(list(out.glob("_batches/part-*.json"))) >= 2:  # killed after two batches committed
                break
            time.sleep(0.01)
    finally:
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    committed = len(list(out.glob("_batches/part-*.json")))
    assert killed and committed < 12, "the run finished before it could be killed"
    resumed = tag(inputs, core_model, out=out, workers=1)
    assert_same_tables(canonical(resumed), canonical(serial[0]))


def test_two_workers_same_tables(serial, inputs, core_model):
    parallel = tag(inputs, core_model, workers=2)  # out=None: kept in a temporary folder
    assert_same_tables(parallel, serial[0])


def test_dask_engine_same_tables(serial, inputs, core_model, tmp_path):
    pytest.importorskip("distributed")
    tables = tag(inputs, core_model, out=tmp_path / "out", workers=2, engine="dask")
    assert_same_tables(tables, serial[0])


def test_bad_arguments(core_model, tmp_path):
    with pytest.raises(ValueError, match="engine"):
        imr_nlp.tag_corpus([], engine="spark")
    with pytest.raises(ValueError, match="scheduler"):
        imr_nlp.tag_corpus([], scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(FileNotFoundError):
        imr_nlp.tag_corpus([], model=tmp_path / "nothing")
    empty = imr_nlp.tag_corpus([], workers=1, model=core_model, progress=False)
    assert all(frame.empty for frame in empty.values())
    assert list(empty["items"].columns)[:4] == ["doc_id", "item", "text", "decision"]
