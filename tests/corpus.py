"""Where the shared test corpus lives: ../shared/corpus beside the repository.

Tests that need it fail (never skip) when it is missing: CI always has it.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = (Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus").resolve()
MEASUREMENTS = CORPUS / "ooni-measurements"
QA = MEASUREMENTS / "ooni-data-wc05-qa"
QA_ANALYSIS = MEASUREMENTS / "probe-cli-minipipeline-generated-analysis"
JSONL = MEASUREMENTS / "ooni-webconnectivity-corpus.jsonl"
FASTPATH = sorted(MEASUREMENTS.glob("ooni-backend-fastpath*/*.json"))


def qa_files() -> list[Path]:
    files = sorted(QA.glob("*.json"))
    assert len(files) == 50, f"expected the 50 QA scenarios in {QA}, found {len(files)}"
    return files
