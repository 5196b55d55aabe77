"""`netvigil ingest`: OONI files into the tables, in a process pool or on a Dask cluster."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import distributed
from typer.testing import CliRunner

from netvigil.cli.main import app
from netvigil.cli.serve import load_demo
from netvigil.datadir import DataDir
from netvigil.observatory.executor import run_local
from netvigil.observatory.ingest import FileResult
from netvigil.observatory.tables import connect
from tests.corpus import JSONL, MEASUREMENTS, QA

runner = CliRunner()


OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"


def identities(paths: list[Path]) -> set[str]:
    """What makes a measurement itself: OONI's uid when it has one, else its content."""
    found = set()
    for path in paths:
        lines = path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        for line in lines:
            data = json.loads(line)
            if isinstance(data, dict) and data.get("test_name") == "web_connectivity":
                found.add(
                    data.get("measurement_uid")
                    or json.dumps(
                        {k: v for k, v in data.items() if k != "report_id"}, sort_keys=True
                    )
                )
    return found


def count(data: Path, where: str = "TRUE") -> int:
    db = connect(data / "tables" / "analysis")
    try:
        return int(db.execute(f"SELECT count(*) FROM analysis WHERE {where}").fetchone()[0])  # type: ignore[index]
    finally:
        db.close()


def test_ingest_in_a_process_pool_reports_errors_per_file(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["ingest", str(QA), str(JSONL), str(OTHER), "--data-dir", str(tmp_path), "--workers", "2"],
    )
    assert result.exit_code == 0, result.output
    assert "detector_query_ww_BR_2018.json" in result.stderr  # not a measurement: one error
    assert "imported" in result.stderr
    # The QA files are also lines of the JSONL, and two fastpath fixtures carry the same
    # measurement_uid: each measurement is one row.
    expected = len(identities([*QA.glob("*.json"), JSONL, *OTHER.glob("*.json")]))
    assert expected == 66
    assert count(tmp_path, "test_name = 'web_connectivity'") == expected
    again = runner.invoke(app, ["ingest", str(QA), "--data-dir", str(tmp_path)])
    assert again.exit_code == 0
    assert count(tmp_path, "test_name = 'web_connectivity'") == expected  # no duplicates


def test_ingest_on_a_local_dask_cluster(tmp_path: Path) -> None:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,  # type: ignore[no-untyped-call]
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        result = runner.invoke(
            app, ["ingest", str(QA), "--data-dir", str(tmp_path), "--executor", f"dask://{address}"]
        )
    assert result.exit_code == 0, result.output
    assert count(tmp_path) == 50


def test_bad_executor_and_empty_input_are_one_line_errors(tmp_path: Path) -> None:
    bad = runner.invoke(
        app, ["ingest", str(QA), "--data-dir", str(tmp_path), "--executor", "spark://x"]
    )
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    empty = runner.invoke(
        app, ["ingest", str(tmp_path / "missing.jsonl"), "--data-dir", str(tmp_path)]
    )
    assert empty.exit_code == 1 and "no such file" in empty.stderr


def test_demo_data(tmp_path: Path) -> None:
    # samples/SOURCES.md: 15 web_connectivity measurements and 12 of apps and tools
    assert load_demo(DataDir(root=tmp_path)) == 27
    assert count(tmp_path) == 27
    db = connect(tmp_path / "tables" / "analysis")
    try:
        countries = db.execute("SELECT count(DISTINCT probe_cc) FROM analysis").fetchone()
        per_country = db.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM analysis "
            "WHERE outcome = 'blocked' GROUP BY probe_cc)"
        ).fetchone()
    finally:
        db.close()
    assert countries == (16,)  # 11, and the apps' and tools' AF, AM, BR, IE and TH
    assert per_country == (2,)  # Iran, and China (efindlove.com and Tor); no simulated ones


# A Python without the `dask` extra: the world changed (an import that fails), not our code.
WITHOUT_DASK = """
import importlib.abc, sys

class NoDask(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoDask())
from netvigil.cli.main import main
sys.argv = ["netvigil", *sys.argv[1:]]
main()
"""


def _without_dask(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DASK, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dask_executor_without_the_dask_extra_says_which_extra(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # Something to re-analyse, imported locally (the dask check must not depend on that).
    assert runner.invoke(app, ["ingest", str(QA), "--data-dir", str(data)]).exit_code == 0
    fresh = tmp_path / "fresh"
    for args in (
        ["ingest", str(QA), "--data-dir", str(fresh), "--executor", "dask://127.0.0.1:1"],
        ["reanalyze", "--all", "--data-dir", str(data), "--executor", "dask://127.0.0.1:1"],
    ):
        done = _without_dask(*args)
        assert done.returncode == 1, done.stderr
        assert done.stdout == "" and done.stderr.splitlines() == [
            "error: --executor dask://: Dask is not installed: pip install 'netvigil[dask]'"
        ]
    assert not fresh.exists()
    control = _without_dask("ingest", str(QA), "--data-dir", str(fresh))  # local still works
    assert control.returncode == 0, control.stderr


def test_reimporting_counts_duplicates_apart_from_new_measurements(tmp_path: Path) -> None:
    first = runner.invoke(app, ["ingest", str(QA), "--data-dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert first.stderr.splitlines()[-1] == (
        "imported 50 measurements from 50 file(s): 50 new, 0 duplicate(s) of stored ones, "
        "0 error(s)"
    )
    again = runner.invoke(app, ["ingest", str(QA), "--data-dir", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert again.stderr.splitlines()[-1] == (
        "imported 50 measurements from 50 file(s): 0 new, 50 duplicate(s) of stored ones, "
        "0 error(s)"
    )
    # The JSONL repeats the 50 QA runs beside 14 measurements not stored yet.
    mixed = runner.invoke(app, ["ingest", str(JSONL), "--data-dir", str(tmp_path)])
    assert mixed.stderr.splitlines()[-1] == (
        "imported 64 measurements from 1 file(s): 14 new, 50 duplicate(s) of stored ones, "
        "0 error(s)"
    )
    assert count(tmp_path) == 64


def test_progress_counts_the_bytes_of_one_large_file(tmp_path: Path) -> None:
    from netvigil.observatory.ingest import REPORT_BYTES

    big = tmp_path / "big.jsonl"
    lines = JSONL.read_bytes().splitlines()
    with big.open("wb") as out:
        for copy in range(40):  # ~18 MB: distinct measurements (report ids differ)
            for line in lines:
                out.write(line.replace(b'"report_id":"', f'"report_id":"{copy}x'.encode(), 1))
                out.write(b"\n")
    size = big.stat().st_size
    seen: list[tuple[str, int]] = []
    results: list[FileResult] = []
    run_local([big], tmp_path / "tables", 2, results.append, None, lambda *p: seen.append(p))
    assert [r.rows for r in results] == [40 * 64]
    positions = [position for name, position in seen]
    assert {name for name, _ in seen} == {str(big)}
    assert len(positions) >= size // REPORT_BYTES - 1
    assert positions == sorted(positions) and positions[0] > 0 and positions[-1] <= size


def test_progress_comes_back_from_pool_workers(tmp_path: Path) -> None:
    files = []
    lines = JSONL.read_bytes().splitlines()
    for number in range(2):
        path = tmp_path / f"part{number}.jsonl.gz"
        with gzip.open(path, "wb") as out:
            for copy in range(30):
                for line in lines:
                    tag = f'"report_id":"{number}-{copy}x'.encode()
                    out.write(line.replace(b'"report_id":"', tag, 1) + b"\n")
        files.append(path)
    seen: list[tuple[str, int]] = []
    results: list[FileResult] = []
    run_local(files, tmp_path / "tables", 2, results.append, None, lambda *p: seen.append(p))
    assert sorted(r.rows for r in results) == [30 * 64, 30 * 64]
    assert {name for name, _ in seen} == {str(p) for p in files}  # compressed bytes, each file
    for path in files:
        positions = [position for name, position in seen if name == str(path)]
        assert positions == sorted(positions) and positions[-1] <= path.stat().st_size


def test_the_progress_bar_is_in_bytes(tmp_path: Path) -> None:
    from rich.console import Console
    from rich.progress import Progress

    from netvigil.cli.bulk import _Bar

    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    files[0].write_bytes(b"x" * 3000)
    files[1].write_bytes(b"y" * 1000)
    with Progress(console=Console(file=io.StringIO())) as progress:
        bar = _Bar(progress, [str(p) for p in files])
        (task,) = progress.tasks
        assert task.total == 4000 and task.fields["files"] == "0/2 files"
        bar.advance(str(files[0]), 1200)
        bar.advance(str(files[0]), 900)  # a late, older report moves nothing back
        assert task.completed == 1200
        bar.file_done(str(files[1]))
        assert task.completed == 2200 and task.fields["files"] == "1/2 files"
