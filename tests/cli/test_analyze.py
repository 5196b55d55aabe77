"""The command line: JSON lines for machines, error records for bad input, no tracebacks."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from netvigil.cli.main import app
from tests.corpus import JSONL, QA, qa_files

runner = CliRunner()


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_analyze_classic_prints_one_object_per_measurement_in_input_order() -> None:
    files = [str(p) for p in qa_files()[:5]]
    result = runner.invoke(app, ["analyze", "--classic", *files])
    assert result.exit_code == 0, result.output
    records = lines(result.stdout)
    assert [r["input"] for r in records] == [
        json.loads(Path(f).read_text())["input"] for f in files
    ]
    assert {"blocking", "accessible", "dns_consistency", "title_match"} <= set(records[0])


def test_analyze_json_lines_for_a_folder() -> None:
    result = runner.invoke(app, ["analyze", "--json", str(QA)])
    assert result.exit_code == 0
    records = lines(result.stdout)
    assert len(records) == 50
    assert {r["outcome"] for r in records} == {"blocked", "down", "ok", "insufficient"}
    # Only the two controlFailure* scenarios: no control, no verdict.
    insufficient = [r for r in records if r["outcome"] == "insufficient"]
    assert len(insufficient) == 2 and all(
        str(r["reason"]).startswith("no control") for r in insufficient
    )
    assert all(r["layers"] and "rules_version" in r for r in records)


def test_bad_inputs_give_error_records_not_tracebacks(tmp_path: Path) -> None:
    good = JSONL.read_bytes().splitlines()[0]
    malformed = tmp_path / "malformed.jsonl"
    malformed.write_bytes(good + b"\n{oops\n")
    truncated = tmp_path / "truncated.jsonl.gz"
    data = gzip.compress(JSONL.read_bytes())
    truncated.write_bytes(data[: len(data) // 2])
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"test_name": "made_up_test", "test_keys": {}}))
    missing = tmp_path / "missing.json"
    result = runner.invoke(
        app, ["analyze", "--json", str(malformed), str(truncated), str(unknown), str(missing)]
    )
    assert result.exit_code == 0  # some measurements were analysed
    errors = [r for r in lines(result.stdout) if "error" in r]
    assert [Path(str(e["source"])).name for e in errors] == [
        "malformed.jsonl",
        "truncated.jsonl.gz",
        "unknown.json",
        "missing.json",
    ]
    assert "made_up_test" in str(errors[2]["error"])
    assert "Traceback" not in result.output
    strict = runner.invoke(app, ["analyze", "--json", "--strict", str(malformed)])
    assert strict.exit_code == 3


def test_whole_run_failing_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", str(tmp_path / "missing.json")])
    assert result.exit_code == 1
    assert "no measurement could be analysed" in result.stderr
    assert "Traceback" not in result.output


def test_bad_fingerprint_folder_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", "--fingerprints", str(tmp_path), str(JSONL)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "fingerprints" in result.stderr


def test_demo_runs_on_the_bundled_sample_and_says_whose_data_it_is() -> None:
    result = runner.invoke(app, ["demo", "--json"])
    assert result.exit_code == 0
    verdicts = lines(result.stdout)
    assert len(verdicts) == 15  # the sample's real measurements (tests/test_samples.py)
    assert len({v["probe_cc"] for v in verdicts}) == 11
    (note,) = result.stderr.splitlines()
    assert "real OONI measurements" in note and "CC BY-NC-SA 4.0" in note
    assert note.endswith("SOURCES.md") and "https://ooni.org" in note


def test_table_output_and_help_in_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "netvigil", "analyze", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--classic" in done.stdout and "--fingerprints" in done.stdout
    piped = subprocess.run(
        [sys.executable, "-m", "netvigil", "analyze", str(qa_files()[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.returncode == 0 and json.loads(piped.stdout)["outcome"] == "down"


def test_fingerprints_folder_overrides_the_bundled_ones(tmp_path: Path) -> None:
    # Without the Iranian DNS blockpage rows, the IR measurement is no longer a blockpage.
    from importlib.resources import files

    bundled = files("netvigil") / "data" / "fingerprints"
    dns_rows = (bundled / "fingerprints_dns.csv").read_text().splitlines()
    kept = [row for row in dns_rows if "10.10.34.3" not in row]
    assert len(kept) < len(dns_rows)
    (tmp_path / "fingerprints_dns.csv").write_text("\n".join(kept) + "\n")
    (tmp_path / "fingerprints_http.csv").write_text((bundled / "fingerprints_http.csv").read_text())
    measurement = JSONL.parent / "ooni-backend-fastpath" / "bug_352.json"
    default = lines(runner.invoke(app, ["analyze", "--json", str(measurement)]).stdout)[0]
    result = runner.invoke(
        app, ["analyze", "--json", "--fingerprints", str(tmp_path), str(measurement)]
    )
    assert result.exit_code == 0
    overridden = lines(result.stdout)[0]
    assert default["technique"] == "dns_blockpage_ip"
    assert overridden["technique"] == "dns_bogon"


def test_every_command_taking_a_geoip_db_refuses_one_that_is_not_an_mmdb(tmp_path: Path) -> None:
    import typer.main

    garbage = tmp_path / "garbage.mmdb"
    garbage.write_text('{"this": "is JSON, not a MaxMind database"}\n')
    data = tmp_path / "data"
    needs = {
        ("ingest",): [str(JSONL)],
        ("probe", "run"): ["--input", "http://127.0.0.1:1/", "--accept-risks"],
        ("probe", "daemon"): [
            *("--server", "http://127.0.0.1:1", "--input", "http://127.0.0.1:1/", "--accept-risks")
        ],
    }
    checked = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))
        options = {o for p in getattr(command, "params", []) for o in p.opts}
        if "--geoip-db" not in options:
            return
        data.mkdir(exist_ok=True)
        folder = ["--data-dir", str(data)] if "--data-dir" in options else []
        args = [*path, *needs.get(path, []), *folder, "--geoip-db", str(garbage)]
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (path, result.output)
        assert isinstance(result.exception, SystemExit), path  # an exit, not a traceback
        assert result.stderr.splitlines()[0].startswith(
            "error: --geoip-db: cannot read garbage.mmdb"
        ), path
        assert len(result.stderr.splitlines()) == 1, path
        assert list(data.iterdir()) == [], path  # nothing created or changed
        checked.append(" ".join(path))

    walk(typer.main.get_command(app), ())
    assert sorted(checked) == [
        "ingest",
        "probe daemon",
        "probe run",
        "reanalyze",
        "serve",
        "th serve",
    ]
