"""Benchmark ``imr_nlp.tag_corpus``: letters/s with 1 and 2 workers and the Dask engine, and peak
memory (RSS of the whole process tree) at 1,000 and 10,000 documents.

    python benchmarks/bulk_benchmark.py [--docs 10000] [--small 1000] [--model DIR] [--batch-size N]

The corpus is made by repeating the shared letters (``../shared/corpus/dwc-imr-2017/txt``, or
``--letters DIR``) as symlinks in a temporary folder, so workers read real files and nothing is
copied into the repository. Every measurement runs ``tag_corpus(..., out=TMP,
return_tables=False)`` in a fresh child process while this process samples the RSS of the
child and all its descendants (pool or Dask worker processes) every 50 ms.

Targets (issue 5): 2 workers >= 1.8x 1 worker; peak memory at 10,000 within 10% of 1,000.
This is a script, not a test: it takes minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_LETTERS = REPO.parent / "shared" / "corpus" / "dwc-imr-2017" / "txt"


def make_corpus(letters: Path, n: int, folder: Path) -> Path:
    """``n`` symlinks to the letters in ``letters``, cycled, in ``folder``."""
    sources = sorted(p for p in letters.iterdir() if p.suffix.lower() in (".txt", ".pdf"))
    if not sources:
        raise SystemExit(f"{letters}: no .txt/.pdf letters")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        src = sources[i % len(sources)]
        (folder / f"{i:06d}_{src.name}").symlink_to(src)
    return folder


def tree_sample(proc, cpu: dict) -> int:
    """RSS of ``proc`` and its descendants; record each one's CPU seconds in ``cpu`` (by pid)."""
    import psutil

    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0
    for p in procs:
        try:
            with p.oneshot():
                total += p.memory_info().rss
                t = p.cpu_times()
                cpu[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return total


def run_child(inputs: Path, workers: int, engine: str, model, batch_size) -> dict:
    """Run one tag_corpus in a fresh process; return seconds, documents and peak tree RSS."""
    import psutil

    with tempfile.TemporaryDirectory(prefix="imr_bench_out_") as out:
        cmd = [sys.executable, __file__, "--child", str(inputs), "--out", out, "--workers", str(workers),
               "--engine", engine]
        if model:
            cmd += ["--model", str(model)]
        if batch_size:
            cmd += ["--batch-size", str(batch_size)]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ps = psutil.Process(child.pid)
        peak = 0
        cpu: dict[int, float] = {}
        stop = threading.Event()
        load_before = os.getloadavg()[0]

        def sample():
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, tree_sample(ps, cpu))
                time.sleep(0.05)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        stdout, _ = child.communicate()
        stop.set()
        thread.join()
        if child.returncode != 0:
            raise SystemExit(f"benchmark child failed ({child.returncode}): {' '.join(cmd)}")
        result = json.loads(stdout.strip().splitlines()[-1])
        result["peak_rss_mb"] = peak / 2**20
        result["cpu_seconds"] = sum(cpu.values())  # of the whole tree (last sample of each process)
        result["load"] = (load_before + os.getloadavg()[0]) / 2
        return result


def child_main(args) -> None:
    import warnings

    warnings.simplefilter("ignore")
    import imr_nlp
    from imr_nlp.bulk import DEFAULT_BATCH_SIZE

    n = sum(1 for _ in Path(args.child).iterdir())
    t0 = time.perf_counter()
    imr_nlp.tag_corpus([args.child], out=args.out, workers=args.workers, engine=args.engine,
                       batch_size=args.batch_size or DEFAULT_BATCH_SIZE, model=args.model, progress=False,
                       return_tables=False)
    seconds = time.perf_counter() - t0
    import pyarrow.dataset as ds

    rows = {t: ds.dataset(str(Path(args.out) / t), format="parquet").count_rows()
            for t in ("letters", "failures")}
    print(json.dumps({"seconds": seconds, "docs": n, "rows": rows}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10_000, help="documents of the large corpus (default 10000)")
    ap.add_argument("--small", type=int, default=1_000, help="documents of the small corpus (default 1000)")
    ap.add_argument("--letters", type=Path, default=DEFAULT_LETTERS, help="folder of letters to repeat")
    ap.add_argument("--model", help="saved pipeline directory (default: imr_nlp.load()'s)")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args)
        return
    if not args.letters.is_dir():
        raise SystemExit(f"{args.letters}: no such folder (the shared corpus is needed; or pass --letters)")

    with tempfile.TemporaryDirectory(prefix="imr_bench_in_") as tmp:
        big = make_corpus(args.letters, args.docs, Path(tmp) / "big")
        small = make_corpus(args.letters, args.small, Path(tmp) / "small")
        runs = [("local, 1 worker", big, 1, "local"), ("local, 2 workers", big, 2, "local"),
                ("dask, 2 workers", big, 2, "dask"), ("local, 2 workers", small, 2, "local")]
        results = []
        for name, inputs, workers, engine in runs:
            print(f"running {name} on {sum(1 for _ in inputs.iterdir()):,} documents ...", file=sys.stderr,
                  flush=True)
            r = run_child(inputs, workers, engine, args.model, args.batch_size)
            r.update(name=name, workers=workers, engine=engine, rate=r["docs"] / r["seconds"])
            print(f"  {r['rate']:.1f} letters/s, {r['seconds']:.1f} s, peak {r['peak_rss_mb']:.0f} MB, "
                  f"cpu {r['cpu_seconds']:.0f} s, load {r['load']:.1f}, rows {r['rows']}", file=sys.stderr,
                  flush=True)
            results.append(r)

    one, two, dask, two_small = results
    print()
    print(f"machine: {os.cpu_count()} CPUs; 'load' = 1-min load average around the run (other processes "
          f"compete for the CPUs when it exceeds the workers)")
    print(f"{'run':<22}{'documents':>10}{'seconds':>10}{'letters/s':>11}{'vs 1 worker':>13}{'peak RSS MB':>13}"
          f"{'CPU s':>8}{'cores used':>12}{'letters/CPU s':>15}{'load':>6}")
    for r in results:
        print(f"{r['name']:<22}{r['docs']:>10,}{r['seconds']:>10.1f}{r['rate']:>11.1f}"
              f"{r['rate'] / one['rate']:>12.2f}x{r['peak_rss_mb']:>13.0f}{r['cpu_seconds']:>8.0f}"
              f"{r['cpu_seconds'] / r['seconds']:>12.2f}{r['docs'] / r['cpu_seconds']:>15.1f}{r['load']:>6.1f}")
    speedup = two["rate"] / one["rate"]
    mem_ratio = two["peak_rss_mb"] / two_small["peak_rss_mb"]
    print()
    print(f"2 workers / 1 worker: {speedup:.2f}x (target >= 1.80x) {'OK' if speedup >= 1.8 else 'MISSED'}")
    print(f"dask / 1 worker: {dask['rate'] / one['rate']:.2f}x")
    efficiency = (two["docs"] / two["cpu_seconds"]) / (one["docs"] / one["cpu_seconds"])
    print(f"CPU efficiency of 2 workers (letters per CPU second vs 1 worker): {efficiency:.2f}; on 2 free cores "
          f"that bounds the speed-up at about {2 * efficiency:.2f}x (the wall-clock ratio is lower when other "
          f"processes hold the CPUs: see 'cores used')")
    print(f"peak RSS, {two['docs']:,} / {two_small['docs']:,} documents (2 workers): {mem_ratio:.3f} "
          f"(target <= 1.10) {'OK' if mem_ratio <= 1.10 else 'MISSED'}")


if __name__ == "__main__":
    main()
