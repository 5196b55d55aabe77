"""The bundled demo samples: real OONI measurements only, from several countries, attributed.

Each line must be one of the corpus's real measurements (INDEX-web_connectivity.csv says
which are real; OONI's netem QA runs and the fixtures with edited headers are not), with
only the probe's address removed where OONI had kept it; SOURCES.md must name each one.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Outcome
from netvigil.nettest_names import SUBJECTS
from netvigil.readers import Item, read_path
from netvigil.samples import OTHER_NAME
from tests.corpus import MEASUREMENTS, QA

INDEX = MEASUREMENTS / "INDEX-web_connectivity.csv"
SAMPLE = files("netvigil") / "data" / "samples" / "web_connectivity.jsonl.gz"
OTHER = files("netvigil") / "data" / "samples" / OTHER_NAME
FASTPATH_OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"


def sample(of: Traversable = SAMPLE) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(of.read_bytes()).splitlines()]


def corpus(real: bool) -> dict[str, dict[str, Any]]:
    """The corpus's single-measurement files, by path, that INDEX calls real (or not)."""
    found = {}
    with INDEX.open() as table:
        for row in csv.DictReader(table):
            genuine = row["origin"].startswith("real") and "edited" not in row["origin"]
            if genuine == real and "#" not in row["path"]:
                found[row["path"]] = json.loads((MEASUREMENTS / row["path"]).read_text())
    return found


def without_address(measurement: dict[str, Any]) -> dict[str, Any]:
    return {**measurement, "probe_ip": "127.0.0.1"}


def test_every_measurement_is_a_real_one_of_the_corpus() -> None:
    real = corpus(real=True)
    # The netem QA runs and report1blocked.json (an edited header); report2blocked.json is
    # byte for byte the real report2.json, whatever its name says.
    simulated = {p: m for p, m in corpus(real=False).items() if m not in real.values()}
    assert sum(p.startswith(QA.name) for p in simulated) == 50 and len(simulated) == 51
    seen = set()
    for measurement in sample():
        matches = [p for p, m in real.items() if without_address(m) == measurement]
        assert len(matches) == 1, measurement.get("report_id")
        assert not any(without_address(m) == measurement for m in simulated.values())
        seen.add(matches[0])
    assert len(seen) == len(sample())  # no measurement twice


def test_no_probe_address_and_several_countries() -> None:
    measurements = sample()
    assert {m["probe_ip"] for m in measurements} == {"127.0.0.1"}
    countries = Counter(m["probe_cc"] for m in measurements)
    assert len(countries) >= 8 and max(countries.values()) <= 3
    assert not any(m["probe_asn"] == "AS137" for m in measurements)  # the QA runs' label


def test_it_shows_every_outcome_and_blocking_with_witnesses() -> None:
    db = FingerprintDB.load()
    with as_file(SAMPLE) as path:
        verdicts = [analyze(i.measurement, db) for i in read_path(path) if isinstance(i, Item)]
    outcomes = Counter(v.outcome for v in verdicts)
    assert {Outcome.BLOCKED, Outcome.DOWN, Outcome.OK, Outcome.INSUFFICIENT} <= set(outcomes)
    blocked = [v for v in verdicts if v.outcome is Outcome.BLOCKED]
    assert len(blocked) >= 3 and len({v.probe_cc for v in blocked}) >= 3
    for verdict in blocked:
        layer = next(layer for layer in verdict.layers if layer.layer is verdict.layer)
        assert layer.witnesses, verdict.input
    assert any(v.confirmed for v in blocked)


def test_the_indonesian_redirect_to_a_blockpage_is_kept() -> None:
    (archive,) = [m for m in sample() if m["probe_cc"] == "ID"]
    assert archive["input"] == "http://archive.org"
    assert "SITUS DIBLOKIR" in json.dumps(archive["test_keys"]["requests"])


def test_sources_name_every_measurement_and_the_licence() -> None:
    from netvigil.samples import ATTRIBUTION, sources_note

    sources = (files("netvigil") / "data" / "samples" / "SOURCES.md").read_text()
    assert "CC BY-NC-SA 4.0" in sources and "https://ooni.org" in sources
    web = sources.split(f"# Apps and circumvention tools: `{OTHER_NAME}`", 1)[0]
    rows = [line for line in web.splitlines() if line.startswith("| 20")]
    assert len(rows) == len(sample())
    for measurement in sample():
        (row,) = [r for r in rows if f"`{measurement['report_id']}`" in r]
        assert f"| {measurement['probe_cc']} | {measurement['probe_asn']} |" in row
    note = sources_note(len(sample()))
    assert ATTRIBUTION in note and note.endswith("SOURCES.md")
    assert Path(note.rsplit("sources: ", 1)[1]).is_file()


# --- the apps and circumvention tools (`serve --demo` only) -------------------------------


def test_the_apps_and_tools_are_the_corpus_s_real_ones_unchanged() -> None:
    """Each line is one of OONI's fastpath fixtures, every value as published (timestamps
    included), each once; only nettests of apps and tools, all submitted to OONI."""
    corpus = {p.name: json.loads(p.read_text()) for p in FASTPATH_OTHER.glob("*.json")}
    found = []
    for measurement in sample(OTHER):
        (name,) = [n for n, m in corpus.items() if m == measurement]
        found.append(name)
        assert measurement["test_name"] in SUBJECTS and measurement["report_id"], name
        assert measurement["probe_ip"] == "127.0.0.1", name
    assert len(set(found)) == len(found) == 12
    starts = [m["measurement_start_time"] for m in sample(OTHER)]
    assert starts == sorted(starts)
    # torsf_1 and openvpn were never submitted (no report_id): not published, left out
    assert {"torsf_1.json", "openvpn.json"}.isdisjoint(found)


def test_sources_name_every_app_and_tool_measurement() -> None:
    sources = (files("netvigil") / "data" / "samples" / "SOURCES.md").read_text()
    part = sources.split(f"# Apps and circumvention tools: `{OTHER_NAME}`", 1)[1]
    rows = [line for line in part.split("\n# ", 1)[0].splitlines() if line.startswith("| 20")]
    assert len(rows) == len(sample(OTHER)) == 12
    for m in sample(OTHER):
        (row,) = [r for r in rows if f"`{m['report_id']}`" in r]
        assert row.startswith(f"| {m['measurement_start_time'][:10]} | {m['probe_cc']} | ")
        assert f"| {m['probe_asn']} | {m['test_name']} |" in row
