"""Shared fixtures. Tests that read the real letters in ``../shared`` skip where it is absent
(a user's clone) and fail there when IMR_REQUIRE_SHARED=1 (CI), so in CI they always run."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "dwc-imr-2017"
SEEDS = SHARED / "seeds"
GOLD = ROOT / "data" / "gold" / "dwc-imr-2017.jsonl"
EXAMPLE = ROOT / "data" / "examples" / "example_letter.txt"


def require_shared() -> Path:
    """Skip (or, in CI, fail) when ../shared is not beside the repository."""
    if not CORPUS.is_dir():
        message = f"needs the shared letters at {CORPUS} (clone the project beside ../shared)"
        if os.environ.get("IMR_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return SHARED


@pytest.fixture(scope="session")
def shared() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def nlp():
    import imr_nlp

    return imr_nlp.load()


@pytest.fixture(scope="session")
def gold_records() -> dict[str, dict]:
    return {r["case_number"]: r for r in map(json.loads, GOLD.read_text().splitlines()) if r}


@pytest.fixture(scope="session")
def example_text() -> str:
    return EXAMPLE.read_text()
