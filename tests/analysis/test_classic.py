"""OONI's classic keys, recomputed from observations, must equal what OONI's code wrote.

The 50 netem QA measurements were written by OONI's v0.5.28 probe; each file's test keys
hold its own verdict. We delete every verdict key first, so the result can only come from
the observations, then compare. A mismatch is listed with OONI's intermediate analysis
file beside it for debugging.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
from typer.testing import CliRunner

from netvigil.analysis.batch import ClassicRecord, classic_of
from netvigil.cli.main import app
from netvigil.readers import Item, ReadError, list_files, parse_line, read_paths
from tests.corpus import JSONL, MEASUREMENTS, QA_ANALYSIS, qa_files

VERDICT_KEYS = ("blocking", "accessible", "dns_consistency", "body_proportion")


def strip_verdicts(measurement: dict[str, Any]) -> dict[str, Any]:
    keys = measurement["test_keys"]
    for key in list(keys):
        if (
            key in VERDICT_KEYS
            or key.endswith("_match")
            or (key.startswith("x_") and key.endswith("_flags"))
        ):
            del keys[key]
    return measurement


def classic(data: dict[str, Any]) -> ClassicRecord:
    item = parse_line(json.dumps(data).encode(), "test", None)
    assert isinstance(item, Item)
    record = classic_of(item)
    assert isinstance(record, ClassicRecord), record
    return record


def test_classic_agrees_with_oonis_own_code_on_all_50_qa_scenarios() -> None:
    mismatches = []
    for path in qa_files():
        original = json.loads(path.read_text())
        expected = {k: original["test_keys"][k] for k in ("blocking", "accessible")}
        got = classic(strip_verdicts(json.loads(path.read_text())))
        assert got.engine == "v0.5"
        if {"blocking": got.blocking, "accessible": got.accessible} != expected:
            mismatches.append(
                f"{path.stem}: expected {expected}, got blocking={got.blocking!r} "
                f"accessible={got.accessible!r} "
                f"(see {QA_ANALYSIS / (path.stem + '.analysis_classic.json')})"
            )
    assert not mismatches, "\n".join(mismatches)


def test_classic_http_diff_keys_agree_too() -> None:
    keys = (
        "dns_consistency",
        "body_proportion",
        "body_length_match",
        "headers_match",
        "status_code_match",
        "title_match",
    )
    mismatches = []
    for path in qa_files():
        original = json.loads(path.read_text())["test_keys"]
        got = msgspec.structs.asdict(classic(strip_verdicts(json.loads(path.read_text()))))
        mismatches += [
            f"{path.stem}.{k}: {original[k]!r} != {got[k]!r}" for k in keys if original[k] != got[k]
        ]
    assert not mismatches, "\n".join(mismatches)


def test_legacy_go_probe_measurements_use_v04_rules() -> None:
    # Go probes (ooniprobe-cli, miniooni) wrote v0.4 keys; Measurement Kit (0.0.1-0.3.x)
    # differed in documented ways (docs/design/003), so only Go probes must agree exactly.
    checked = 0
    for number, line in enumerate(JSONL.read_bytes().splitlines(), start=1):
        data = json.loads(line)
        if not data["test_version"].startswith("0.4."):
            continue
        item = parse_line(line, str(JSONL), number)
        assert isinstance(item, Item)
        record = classic_of(item)
        assert isinstance(record, ClassicRecord)
        tk = data["test_keys"]
        assert record.engine == "v0.4"
        assert (record.blocking, record.accessible, record.dns_consistency) == (
            tk["blocking"],
            tk["accessible"],
            tk["dns_consistency"],
        ), f"line {number}: {data['input']}"
        checked += 1
    assert checked == 4


ALL_KEYS = (*VERDICT_KEYS, "body_length_match", "headers_match", "status_code_match", "title_match")
_BODY = ("body_proportion", "body_length_match", "title_match")
# Where Measurement Kit's keys (0.0.1-0.3.x) differ from v0.4's (docs/design/003): file name
# and line (None: a one-measurement file) -> the keys that differ. Each measurement is a
# line of the corpus's JSONL and a fastpath file (report1 and report2 are two files each).
MEASUREMENT_KIT_DIFFERS = {
    ("bug_351.json", None): ("blocking", "accessible", "body_proportion"),
    ("ooni-webconnectivity-corpus.jsonl", 2): ("blocking", "accessible", "body_proportion"),
    ("report1.json", None): _BODY,
    ("report1blocked.json", None): _BODY,
    ("ooni-webconnectivity-corpus.jsonl", 4): _BODY,
    ("report2.json", None): _BODY,
    ("report2blocked.json", None): _BODY,
    ("ooni-webconnectivity-corpus.jsonl", 5): _BODY,
    ("web_connectivity_b64_hdr.json", None): ("blocking", "accessible"),
    ("ooni-webconnectivity-corpus.jsonl", 7): ("blocking", "accessible"),
    ("web_connectivity_b64_incorrect.json", None): _BODY,
    ("ooni-webconnectivity-corpus.jsonl", 8): _BODY,
    ("web_connectivity_no_body.json", None): ("blocking", "accessible"),
    ("ooni-webconnectivity-corpus.jsonl", 10): ("blocking", "accessible"),
    ("web_connectivity_odd_hdr.json", None): ("blocking", "accessible"),
    ("ooni-webconnectivity-corpus.jsonl", 13): ("blocking", "accessible"),
}


def test_classic_keys_agree_with_the_published_ones_on_every_corpus_measurement() -> None:
    """Every web_connectivity measurement of the corpus that carries OONI's keys, recomputed
    with its own keys deleted: v0.5 ones (OONI Probe, miniooni) agree on every key, and so do
    Go probes' v0.4 ones; only Measurement Kit's differ, where listed."""
    engines: Counter[str] = Counter()
    differs = {}
    for item in read_paths(list_files([MEASUREMENTS])):
        if not isinstance(item, Item) or item.measurement.test_name != "web_connectivity":
            continue
        published = msgspec.to_builtins(item.measurement)["test_keys"]
        if not published or "blocking" not in published:
            continue  # a measurement without test keys
        got = msgspec.structs.asdict(classic(strip_verdicts(msgspec.to_builtins(item.measurement))))
        engines[got["engine"]] += 1
        wrong = tuple(k for k in ALL_KEYS if got[k] != published[k])
        if wrong:
            differs[(Path(item.source).name, item.line)] = wrong
    assert differs == MEASUREMENT_KIT_DIFFERS
    assert engines == {"v0.5": 102, "v0.4": 28}


def test_other_nettests_get_a_per_item_error() -> None:
    item = parse_line(b'{"test_name": "telegram", "test_keys": {}}', "x", 7)
    assert isinstance(item, Item)
    result = classic_of(item)
    assert isinstance(result, ReadError)
    assert result.line == 7 and "telegram" in result.error


def test_netvigil_analyze_classic_on_the_50_stripped_files(tmp_path: Path) -> None:
    # The same check through the command a user runs, on files with their verdicts removed.
    for path in qa_files():
        stripped = strip_verdicts(json.loads(path.read_text()))
        (tmp_path / path.name).write_text(json.dumps(stripped))
    result = CliRunner().invoke(app, ["analyze", "--classic", "--json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 50
    mismatches = []
    for path, record in zip(qa_files(), records, strict=True):  # both sorted by name
        expected = json.loads(path.read_text())["test_keys"]
        if (record["blocking"], record["accessible"]) != (
            expected["blocking"],
            expected["accessible"],
        ):
            mismatches.append(f"{path.stem}: {record['blocking']!r}/{record['accessible']!r}")
    assert not mismatches, "\n".join(mismatches)
