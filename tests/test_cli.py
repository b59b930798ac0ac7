"""The imr-nlp command line, run as a user runs it."""
from __future__ import annotations

import json
import subprocess
import sys

from imr_nlp.cli import main

from conftest import EXAMPLE, ROOT


def test_parse_prints_items(capsys):
    assert main(["parse", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "case CM99-0000001" in out
    assert "Norco 10/325mg #90: UPHELD" in out
    assert "Physical therapy for the left knee two sessions: OVERTURNED" in out


def test_parse_json_is_one_record_per_letter(capsys):
    assert main(["parse", "--json", str(EXAMPLE), str(EXAMPLE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["case_number"] == "CM99-0000001"


def test_evaluate_on_the_example_gold(capsys):
    gold = ROOT / "data" / "examples" / "example_gold.jsonl"
    assert main(["evaluate", str(gold), "--corpus", str(EXAMPLE.parent)]) == 0
    out = capsys.readouterr().out
    assert "header fields (case number + 6 header fields) accuracy: 1.000" in out
    assert "items found: 2/2" in out
    assert "decision accuracy: 1.000" in out


def test_missing_file_is_an_error_with_exit_code_2(tmp_path, capsys):
    assert main(["parse", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "imr_nlp.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "evaluate" in result.stdout


def test_output_cut_short_by_the_reader_is_not_an_error():
    """`imr-nlp parse letter.txt | head -1`: the closed pipe ends the command quietly, exit code 0."""
    # 30 copies: ~120 kB of JSON, more than a pipe holds, so the writer meets the closed pipe
    cmd = [sys.executable, "-m", "imr_nlp.cli", "parse", "--json"] + [str(EXAMPLE)] * 30
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(1)
    proc.stdout.close()  # the reader goes away after one byte
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0
    assert "Broken pipe" not in stderr and "Traceback" not in stderr
