"""Tag a corpus of IMR letters into Parquet tables: ``tag_corpus``.

    >>> from imr_nlp import tag_corpus
    >>> tables = tag_corpus(["letters/", "more/*.pdf", "batch.jsonl"], out="tagged/", workers=2)
    >>> tables["items"].groupby("treatment")["decision"].value_counts()

Design (see the README's architecture section):

* **Inputs stream.** Folders (recursively, ``.txt``/``.text``/``.pdf``), glob patterns, letter
  files and tables (``.jsonl``/``.csv``/``.parquet`` with an id and a text column) are expanded by
  generators into *tasks* ``(doc_id, source, kind, payload)``; for files the payload is the path,
  so files are read inside the workers. Only a bounded number of batches is in flight at a time,
  so memory stays flat however large the corpus is.
* **Workers return rows, not Docs.** Each worker process loads the pipeline once
  (``imr_nlp.load`` caches it per process) and turns a batch of tasks into plain row dicts with
  ``Letter.tables()``; shipping ``Doc`` objects between processes costs more than parsing them.
* **Every input ends as a row.** A letter gives a ``letters`` row (text that is not an IMR letter
  too, with ``warnings``); anything that cannot be read or parsed (corrupt PDF, empty file,
  unsupported type, missing path, bad table row, a crashed worker) gives a ``failures`` row
  ``(doc_id, source, error_type, message)``. The run always completes.
* **Atomic, resumable output.** Each batch is written as one part file per table,
  ``out/<table>/part-NNNNN.parquet``: all parts are first written under ``out/_staging``, then
  renamed into place, then the batch is committed by a marker ``out/_batches/part-NNNNN.json``
  (each write is tmp + rename). A killed run leaves valid Parquet; a re-run with the same ``out``
  removes uncommitted leftovers, reads the finished doc ids from the committed ``letters`` and
  ``failures`` parts and skips them, so nothing is duplicated or missed.
* **Crashes.** A batch whose worker process dies (segfault, OOM kill) is retried, then split
  into single documents; the document that kills a worker gets a ``WorkerCrashed`` failure row.
* **Engines.** ``engine="local"``: in-process for one worker, else a ``ProcessPoolExecutor``
  (spawned processes: a script that calls ``tag_corpus`` with ``workers > 1`` needs the usual
  ``if __name__ == "__main__":`` guard). ``engine="dask"``: the same batch function on ``dask.distributed``
  (``Client(scheduler)``, or a ``LocalCluster`` of ``workers`` single-threaded processes); remote
  workers must have ``imr_nlp`` installed and see the input files at the same paths.

Doc ids: the file name without its suffix for files (usually the case number), the id column for
table rows (``id``, else ``doc_id`` or ``case_number``; else ``<table stem>:<row>``). A doc id
seen again in the same run gets ``@2``, ``@3``... in input order; ``source`` always names the
file (``path`` or ``path:row``).
"""
from __future__ import annotations

import glob as globmod
import json
import os
import re
import shutil
import tempfile
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

from .sources import PDF_SUFFIXES, TEXT_SUFFIXES

LETTER_SUFFIXES = TEXT_SUFFIXES | PDF_SUFFIXES
TABLES = ("letters", "items", "citations", "entities", "reasons", "failures")
RESULT_TABLES = ("letters", "items", "citations", "entities", "reasons")
TABLE_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".parquet", ".pq"}
ID_COLUMNS = ("id", "doc_id", "case_number")
DEFAULT_BATCH_SIZE = 32
FAILURE_COLUMNS = ("doc_id", "source", "error_type", "message")

# Columns of each table when it has no rows at all (a corpus without entities, a run of failures).
EMPTY_COLUMNS = {
    "letters": ["doc_id", "source", "case_number", "date_assigned", "date_of_injury", "decision_date",
                "ur_denial_date", "priority", "application_received", "licensure", "specialty", "age", "sex",
                "n_items", "n_upheld", "warnings"],
    "items": ["doc_id", "item", "text", "decision", "treatment", "drugs", "dose", "quantity", "frequency",
              "route", "body_parts", "partial", "denial_reasons", "start", "end"],
    "citations": ["doc_id", "item", "side", "source", "document", "year", "sections"],
    "entities": ["doc_id", "label", "text", "start", "end", "section", "item", "norm", "kb_id", "assertion",
                 "top_candidate"],
    "reasons": ["doc_id", "item", "label", "probability", "predicted", "evidence"],
    "failures": list(FAILURE_COLUMNS),
}

# Arrow types of the numeric and boolean columns; a column that is all null in a batch is written
# with its type from here (else as string), so every part of a table has the same schema and
# ``pandas.read_parquet(out / "items")`` reads the folder directly.
COLUMN_TYPES = {"age": "int64", "n_items": "int64", "n_upheld": "int64", "item": "int64", "start": "int64",
                "end": "int64", "year": "int64", "probability": "float64", "predicted": "bool", "partial": "bool"}

Task = tuple  # (doc_id, source, kind, payload); kind: "path" | "text" | "error"
InputsArg = Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]]


# ---------------------------------------------------------------------------------- inputs
def _is_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def _expand(inputs: InputsArg) -> Iterator[tuple[str, str]]:
    """Yield ``("file", path)``, ``("table", path)`` or ``("missing", input)`` in a stable order."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    for raw in inputs:
        s = os.fspath(raw)
        p = Path(s).expanduser()
        if p.is_dir():
            yield from _walk(p)
        elif p.exists():
            yield ("table" if p.suffix.lower() in TABLE_SUFFIXES else "file"), str(p)
        elif _is_glob(s):
            matches = sorted(globmod.glob(os.path.expanduser(s), recursive=True))
            if not matches:
                yield "missing", s
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    yield from _walk(mp)
                elif mp.suffix.lower() in TABLE_SUFFIXES:
                    yield "table", m
                else:
                    yield "file", m
        else:
            yield "missing", s


def _walk(folder: Path) -> Iterator[tuple[str, str]]:
    """Letter files under a folder, recursively, sorted; hidden files and other types skipped."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in LETTER_SUFFIXES:
                yield "file", os.path.join(root, name)


def _table_rows(path: str, id_column: Optional[str], text_column: str,
                with_text: bool = True) -> Iterator[tuple[Optional[str], Any, int, Optional[str]]]:
    """Stream ``(id, text, row_number, error)`` from a jsonl/csv/parquet table (row 1-based)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with open(path, "rb") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                if not with_text:
                    yield None, None, n, None
                    continue
                try:
                    rec = json.loads(line)
                    if not isinstance(rec, dict):
                        raise ValueError(f"expected a JSON object, got {type(rec).__name__}")
                except ValueError as err:
                    yield None, None, n, f"{type(err).__name__}: {err}"
                    continue
                idc = id_column or next((c for c in ID_COLUMNS if c in rec), None)
                if text_column not in rec:
                    yield rec.get(idc) if idc else None, None, n, f"KeyError: no {text_column!r} field"
                    continue
                yield (rec.get(idc) if idc else None), rec[text_column], n, None
        return
    if suffix == ".csv":
        import pandas as pd

        try:
            chunks = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], chunksize=1000)
            n = 0
            for chunk in chunks:
                cols = list(chunk.columns)
                if text_column not in cols:
                    raise KeyError(f"no {text_column!r} column (columns: {', '.join(map(str, cols))})")
                idc = id_column or next((c for c in ID_COLUMNS if c in cols), None)
                ids = chunk[idc].tolist() if idc in cols else [None] * len(chunk)
                texts = chunk[text_column].tolist() if with_text else [None] * len(chunk)
                for i, t in zip(ids, texts):
                    n += 1
                    yield i, t, n, None
        except (KeyError, ValueError, OSError) as err:  # pandas parser errors are ValueErrors
            yield None, None, 0, f"{type(err).__name__}: {err}"
        return
    # parquet
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if not with_text:
            for n in range(1, pf.metadata.num_rows + 1):
                yield None, None, n, None
            return
        if text_column not in names:
            raise KeyError(f"no {text_column!r} column (columns: {', '.join(names)})")
        idc = id_column or next((c for c in ID_COLUMNS if c in names), None)
        cols = [text_column] + ([idc] if idc in names and idc != text_column else [])
        n = 0
        for batch in pf.iter_batches(batch_size=256, columns=cols):
            texts = batch.column(text_column).to_pylist()
            ids = batch.column(idc).to_pylist() if idc in names else [None] * len(texts)
            for i, t in zip(ids, texts):
                n += 1
                yield i, t, n, None
    except (KeyError, OSError, ValueError) as err:  # ArrowInvalid is a ValueError
        yield None, None, 0, f"{type(err).__name__}: {err}"


def iter_tasks(inputs: InputsArg, id_column: Optional[str] = None, text_column: str = "text",
               with_text: bool = True) -> Iterator[Task]:
    """Stream the tasks ``(doc_id, source, kind, payload)`` of ``inputs`` (ids not yet made unique)."""
    for what, path in _expand(inputs):
        if what == "missing":
            yield path, path, "error", ("LetterSourceError", f"{path}: no such file, folder or matching files")
        elif what == "file":
            yield Path(path).stem, path, "path", path
        else:
            stem = Path(path).stem
            for rid, text, n, err in _table_rows(path, id_column, text_column, with_text):
                doc_id = str(rid) if rid is not None and str(rid) != "" else f"{stem}:{n}"
                source = f"{path}:{n}" if n else path
                if err:
                    etype, _, msg = err.partition(": ")
                    yield doc_id, source, "error", (etype, f"{source}: {msg}")
                else:
                    yield doc_id, source, "text", text


def _unique_ids(tasks: Iterator[Task]) -> Iterator[Task]:
    seen: dict[str, int] = {}
    for doc_id, source, kind, payload in tasks:
        n = seen.get(doc_id, 0) + 1
        seen[doc_id] = n
        yield (doc_id if n == 1 else f"{doc_id}@{n}"), source, kind, payload


def _batches(tasks: Iterator[Task], size: int) -> Iterator[list[Task]]:
    batch: list[Task] = []
    for task in tasks:
        batch.append(task)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------------------------- workers
def _failure(doc_id: str, source: str, err: BaseException) -> dict[str, str]:
    return {"doc_id": doc_id, "source": source, "error_type": type(err).__name__, "message": str(err)}


def process_batch(tasks: Sequence[Task], model: Optional[str] = None) -> dict[str, list[dict[str, Any]]]:
    """Parse a batch of tasks into plain rows for every table (runs inside a worker).

    Never raises for a bad document: its error becomes a ``failures`` row.
    """
    import imr_nlp
    from .letter import Letter
    from .sources import letter_text, normalize_text

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a rules-only fallback warns once per process; not per batch
        nlp = imr_nlp.load(model)
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    ready: list[tuple[str, str, str]] = []
    for doc_id, source, kind, payload in tasks:
        try:
            if kind == "error":
                out["failures"].append({"doc_id": doc_id, "source": source, "error_type": payload[0],
                                        "message": payload[1]})
                continue
            if kind == "path":
                text = letter_text(Path(payload))
            else:
                if payload is None or (isinstance(payload, float) and payload != payload):
                    raise ValueError(f"{source}: letter text is missing")
                if not isinstance(payload, str):
                    raise TypeError(f"{source}: letter text is {type(payload).__name__}, not str")
                if not payload.strip():
                    raise ValueError(f"{source}: letter text is empty")
                text = normalize_text(payload)
            if len(text) > nlp.max_length:
                raise ValueError(f"{source}: {len(text):,} characters, more than the pipeline's limit of "
                                 f"{nlp.max_length:,}; is this one letter?")
            ready.append((doc_id, source, text))
        except Exception as err:  # noqa: BLE001 - any unreadable input is a failure row
            out["failures"].append(_failure(doc_id, source, err))

    def add(doc_id: str, source: str, doc) -> None:
        try:
            rows = Letter.from_doc(doc).tables(doc_id)
        except Exception as err:  # noqa: BLE001
            out["failures"].append(_failure(doc_id, source, err))
            return
        rows["letters"] = [{"doc_id": r["doc_id"], "source": source,
                            **{k: v for k, v in r.items() if k != "doc_id"}} for r in rows["letters"]]
        for table in RESULT_TABLES:
            out[table].extend(rows.get(table, []))

    try:
        docs = list(nlp.pipe(text for _, _, text in ready))
    except Exception:  # noqa: BLE001 - one bad doc spoils nlp.pipe: redo one by one
        docs = None
    if docs is not None:
        for (doc_id, source, _), doc in zip(ready, docs):
            add(doc_id, source, doc)
    else:
        for doc_id, source, text in ready:
            try:
                doc = nlp(text)
            except Exception as err:  # noqa: BLE001
                out["failures"].append(_failure(doc_id, source, err))
                continue
            add(doc_id, source, doc)
    return out


def _crash_rows(tasks: Sequence[Task], err: BaseException) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for doc_id, source, _, _ in tasks:
        out["failures"].append({"doc_id": doc_id, "source": source, "error_type": "WorkerCrashed",
                                "message": f"{source}: the worker died while parsing it "
                                           f"({type(err).__name__}: {err})"})
    return out


# ---------------------------------------------------------------------------------- output
class _Store:
    """Parquet parts under ``root``: atomic batch commits, resume bookkeeping, read-back."""

    PART = re.compile(r"^part-(\d+)\.(parquet|json)$")

    def __init__(self, root: Path):
        self.root = root
        self.markers = root / "_batches"
        self.staging = root / "_staging"
        for d in (self.markers, self.staging, *(root / t for t in TABLES)):
            d.mkdir(parents=True, exist_ok=True)

    def committed(self) -> list[int]:
        ids = []
        for f in self.markers.iterdir():
            m = self.PART.match(f.name)
            if m and m.group(2) == "json":
                ids.append(int(m.group(1)))
        return sorted(ids)

    def recover(self) -> tuple[set[str], int]:
        """Remove what a killed run left half-written; return (finished doc ids, next batch number)."""
        import pyarrow.parquet as pq

        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir()
        committed = set(self.committed())
        for f in self.markers.iterdir():
            if f.name.startswith("part-") and not self.PART.match(f.name):
                f.unlink()
        for table in TABLES:
            for f in (self.root / table).iterdir():
                m = self.PART.match(f.name)
                if f.name.startswith("part-") and (not m or int(m.group(1)) not in committed):
                    f.unlink()  # a tmp file or a part of a batch that never committed
        done: set[str] = set()
        for table in ("letters", "failures"):
            for f in self.files(table):
                done.update(pq.read_table(f, columns=["doc_id"]).column("doc_id").to_pylist())
        return done, (max(committed) + 1 if committed else 0)

    def files(self, table: str) -> list[Path]:
        committed = set(self.committed())
        out = []
        for f in (self.root / table).iterdir():
            m = self.PART.match(f.name)
            if m and m.group(2) == "parquet" and int(m.group(1)) in committed:
                out.append((int(m.group(1)), f))
        return [f for _, f in sorted(out)]

    def write(self, batch_no: int, rows: dict[str, list[dict[str, Any]]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = f"part-{batch_no:05d}"
        staged = []
        for table in TABLES:
            if not rows.get(table):
                continue
            if table == "failures":
                schema = pa.schema([(c, pa.string()) for c in FAILURE_COLUMNS])
                arrow = pa.Table.from_pylist(rows[table], schema=schema)
            else:
                arrow = pa.Table.from_pylist(rows[table])
                for i, f in enumerate(arrow.schema):
                    if pa.types.is_null(f.type):
                        typ = pa.type_for_alias(COLUMN_TYPES.get(f.name, "string"))
                        arrow = arrow.set_column(i, pa.field(f.name, typ), arrow.column(i).cast(typ))
            tmp = self.staging / f"{table}-{name}.parquet"
            pq.write_table(arrow, tmp)
            staged.append((tmp, self.root / table / f"{name}.parquet"))
        for tmp, final in staged:
            os.replace(tmp, final)
        counts = {t: len(rows.get(t, [])) for t in TABLES}
        tmp = self.staging / f"{name}.json"
        tmp.write_text(json.dumps({"batch": batch_no, "rows": counts}))
        os.replace(tmp, self.markers / f"{name}.json")  # the commit

    def read(self, table: str):
        import pandas as pd
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        files = self.files(table)
        if not files:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in EMPTY_COLUMNS[table]})
        schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        arrow = ds.dataset([str(f) for f in files], schema=schema, format="parquet").to_table()
        # nullable integers and booleans, so a column's dtype does not depend on whether it has a null
        nullable = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
        return arrow.to_pandas(types_mapper=nullable.get).reset_index(drop=True)


# ---------------------------------------------------------------------------------- engines
class _Serial:
    """One worker: parse in this process (no pickling at all)."""

    def __init__(self, model):
        self.model = model

    def submit(self, tasks):
        from concurrent.futures import Future

        fut: Future = Future()
        fut.set_result(process_batch(tasks, self.model))
        return fut

    def wait(self, futures):
        return list(futures)

    def is_crash(self, err):
        return False

    def restart(self):
        pass

    def close(self):
        pass


def _warm(model=None) -> int:
    """Load the pipeline in a worker before the first batch, so that a pipeline that cannot load
    raises its own error in the caller instead of failing every document."""
    import imr_nlp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imr_nlp.load(model)
    return os.getpid()


class _Pool:
    """Local worker processes (spawned: no fork of a process that has threads)."""

    def __init__(self, workers, model):
        import multiprocessing

        self.workers, self.model = workers, model
        self.ctx = multiprocessing.get_context("spawn")
        self.pool = self._new()

    def _new(self):
        pool = ProcessPoolExecutor(self.workers, mp_context=self.ctx)
        try:
            for fut in [pool.submit(_warm, self.model) for _ in range(self.workers)]:
                fut.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        return pool

    def submit(self, tasks):
        return self.pool.submit(process_batch, tasks, self.model)

    def wait(self, futures):
        done, _ = futures_wait(futures, return_when=FIRST_COMPLETED)
        return list(done)

    def is_crash(self, err):
        return isinstance(err, BrokenProcessPool)

    def restart(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    """The same batches on dask.distributed."""

    def __init__(self, workers, model, scheduler):
        from distributed import Client, LocalCluster

        self.model = model
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=40)
            self.client = Client(self.cluster)
        try:
            self.client.run(_warm, model)  # on every worker; a pipeline that cannot load raises here
        except BaseException:
            self.close()
            raise
        self.n = 0

    def submit(self, tasks):
        self.n += 1
        return self.client.submit(process_batch, tasks, self.model, pure=False,
                                  key=f"imr-batch-{os.getpid()}-{id(self)}-{self.n}")

    def wait(self, futures):
        from distributed import wait

        done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
        return list(done)

    def is_crash(self, err):
        return True  # process_batch never raises for a document: any error is the cluster's

    def restart(self):
        pass

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ---------------------------------------------------------------------------------- driver
def tag_corpus(inputs: InputsArg, out: Union[str, os.PathLike, None] = None, workers: Optional[int] = None,
               engine: str = "local", scheduler: Optional[str] = None, batch_size: int = DEFAULT_BATCH_SIZE,
               model: Union[str, os.PathLike, None] = None, progress: bool = True, *,
               id_column: Optional[str] = None, text_column: str = "text", return_tables: bool = True):
    """Tag every letter in ``inputs`` and return the tables as pandas DataFrames.

    ``inputs``: one or more folders, glob patterns, ``.txt``/``.pdf`` files or ``.jsonl``/``.csv``/
    ``.parquet`` tables (``text_column``, default ``text``; ``id_column``, default the first of
    ``id``, ``doc_id``, ``case_number``). ``out``: a directory for the Parquet tables
    ``letters``, ``items``, ``citations``, ``entities``, ``reasons`` and ``failures``
    (``out/<table>/part-NNNNN.parquet``); running again with the same ``out`` resumes, skipping the
    documents already done. Without ``out`` the tables are kept in a temporary directory and only
    returned. ``workers``: processes (default ``os.cpu_count()``). ``engine``: ``"local"`` or
    ``"dask"`` (``scheduler`` = address of a running scheduler, else a LocalCluster of ``workers``
    processes). ``model``: a saved pipeline directory (default: ``imr_nlp.load()``'s).
    ``return_tables=False`` skips reading the tables back (returns ``None``), for corpora whose
    tables should stay on disk.
    """
    if engine not in ("local", "dask"):
        raise ValueError(f"engine must be 'local' or 'dask', not {engine!r}")
    if scheduler and engine != "dask":
        raise ValueError("a scheduler address needs engine='dask'")
    workers = int(workers or os.cpu_count() or 1)
    if workers < 1:
        raise ValueError("workers must be at least 1")
    batch_size = int(batch_size or DEFAULT_BATCH_SIZE)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    model = os.fspath(model) if model is not None else None
    if model is not None and not (Path(model) / "config.cfg").exists():
        raise FileNotFoundError(f"{model}: not a saved imr_nlp pipeline (no config.cfg)")

    tmpdir = None
    if out is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="imr_nlp_tag_")
        root = Path(tmpdir.name)
    else:
        root = Path(out)
    try:
        store = _Store(root)
        done, next_batch = store.recover()
        _run(inputs, store, done, next_batch, workers, engine, scheduler, batch_size, model, progress,
             id_column, text_column)
        if not return_tables:
            return None
        return {table: store.read(table) for table in TABLES}
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()


def _run(inputs, store: _Store, done: set[str], next_batch: int, workers: int, engine: str,
         scheduler: Optional[str], batch_size: int, model: Optional[str], progress: bool,
         id_column: Optional[str], text_column: str) -> None:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = sum(1 for _ in iter_tasks(inputs, id_column, text_column, with_text=False))
        bar = tqdm(total=total, initial=min(len(done), total), unit=" letters", desc="tagging",
                   smoothing=0.1, dynamic_ncols=True)
    todo = (t for t in _unique_ids(iter_tasks(inputs, id_column, text_column)) if t[0] not in done)
    queue = _batches(todo, batch_size)

    if engine == "dask":
        runner: Any = _Dask(workers, model, scheduler)
    elif workers == 1:
        runner = _Serial(model)
    else:
        runner = _Pool(workers, model)
    max_in_flight = 1 if isinstance(runner, _Serial) else 2 * workers
    # A batch whose worker died is retried whole (attempt 1), then one document at a time
    # (attempt 2), one batch in flight at a time, so the document that kills a worker is found
    # and recorded as a failure while the others are parsed.
    retry: list[tuple[list[Task], int]] = []
    in_flight: dict[Any, tuple[int, list[Task], int, int]] = {}  # future -> (batch, tasks, attempt, gen)
    generation = 0
    batch_no = next_batch
    exhausted = False

    def commit(no: int, rows: dict[str, list[dict[str, Any]]], n: int) -> None:
        store.write(no, rows)
        if bar is not None:
            bar.update(n)

    try:
        while True:
            while True:
                careful = bool(retry) or any(v[2] for v in in_flight.values())
                if len(in_flight) >= (1 if careful else max_in_flight):
                    break
                if retry:
                    tasks, attempt = retry.pop(0)
                elif exhausted:
                    break
                else:
                    tasks = next(queue, None)
                    if tasks is None:
                        exhausted = True
                        break
                    attempt = 0
                in_flight[runner.submit(tasks)] = (batch_no, tasks, attempt, generation)
                batch_no += 1
            if not in_flight:
                break
            for fut in runner.wait(in_flight):
                no, tasks, attempt, gen = in_flight.pop(fut)
                try:
                    rows = fut.result()
                except Exception as err:  # noqa: BLE001 - a worker died (crash, OOM kill)
                    if not runner.is_crash(err):
                        raise
                    if gen == generation:
                        runner.restart()
                        generation += 1
                    if attempt == 0:
                        retry.append((tasks, 1))
                    elif len(tasks) > 1:
                        retry.extend(([t], 2) for t in tasks)
                    else:
                        commit(no, _crash_rows(tasks, err), len(tasks))
                    continue
                commit(no, rows, len(tasks))
    finally:
        runner.close()
        if bar is not None:
            bar.close()
