"""`netvigil incidents ...` as an operator or a member runs it, on a data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netvigil.cli.main import app

runner = CliRunner()


def run(*args: str, data: Path, database: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(
        app, [*args, "--data-dir", str(data), "--database", database], input=stdin
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def folder(tmp_path: Path, database_url: str) -> tuple[Path, str]:
    data = tmp_path / "data"
    for command in (["incidents", "org", "Org A"], ["incidents", "org", "Org B"]):
        code, _, err = run(*command, data=data, database=database_url)
        assert code == 0, err
    return data, database_url


def write(path: Path, **fields: object) -> Path:
    document = {
        "title": "Shutdown in Aleppo",  # a plain string: read as English
        "kind": "regional_shutdown",
        "countries": ["SY"],
        "subdivisions": ["SY-HL"],
        "start": {"time": "2026-05-02T04:00:00+03:00", "precision": "hour"},
        "visibility": "public",
        **fields,
    }
    path.write_text(json.dumps(document))
    return path


def test_create_publish_export_and_verify(folder: tuple[Path, str], tmp_path: Path) -> None:
    data, db = folder
    for name, role in (("alice", "member"), ("anna", "org_admin")):
        code, _, err = run(
            "incidents", "member", name, "--org", "Org A", "--role", role, data=data, database=db
        )
        assert code == 0, err
    source = str(write(tmp_path / "i.json"))
    code, _, err = run(
        "incidents", "create", "--from", source, "--org", "Org A", data=data, database=db
    )
    assert code == 1 and "--as MEMBER" in err  # the operator is nobody: it cannot ask
    code, out, err = run(
        "incidents", "create", "--from", source, "--as", "alice", "--json", data=data, database=db
    )
    assert code == 0, err
    made = json.loads(out)
    assert made["title"] == {"en": "Shutdown in Aleppo"}
    assert (made["visibility"], made["publication"]) == ("coalition", "requested")
    assert made["start"]["time"] == "2026-05-02T01:00:00Z"  # stored in UTC
    ident = made["id"]
    code, _, err = run("incidents", "publish", ident, "--as", "anna", data=data, database=db)
    assert code == 1 and "already requested" in err  # asking again changes no one's role
    code, _, err = run("incidents", "publish", ident, "--approve", data=data, database=db)
    assert code == 1 and "two people" in err  # the operator alone is not a reviewer
    code, _, err = run(
        "incidents", "publish", ident, "--approve", "--as", "alice", data=data, database=db
    )
    assert code == 1 and "second person" in err  # nor is the one who asked
    code, _, err = run(  # a plain member is no reviewer either
        "incidents", "publish", ident, "--approve", "--as", "carol", data=data, database=db
    )
    assert code == 1 and "no member 'carol'" in err
    code, out, _ = run(
        "incidents", "publish", ident, "--approve", "--as", "anna", data=data, database=db
    )
    assert code == 0 and "approved" in out and "public" in out
    code, out, _ = run("incidents", "list", "--json", data=data, database=db)
    assert [json.loads(line)["visibility"] for line in out.splitlines()] == ["public"]
    export = tmp_path / "export.json"
    code, out, _ = run(
        "incidents", "export", "--format", "json", "--output", str(export), data=data, database=db
    )
    assert code == 0 and "wrote 1 incident" in out
    code, out, _ = run("incidents", "show", made["id"], data=data, database=db)
    assert json.loads(out)["revision"] == 2
    key = next((data / "keys").glob("*.pem"))
    from netvigil.incidents.signing import Keyring

    (public,) = Keyring(key.parent).public_keys()
    result = runner.invoke(
        app, ["incidents", "verify", str(export), "--public-key", public["public_key"]]
    )
    assert result.exit_code == 0 and "verified 1 revision" in result.stdout
    for kind in ("csv", "atom", "stix", "misp"):
        code, out, err = run("incidents", "export", "--format", kind, data=data, database=db)
        assert code == 0 and out, (kind, err)


def test_members_act_with_their_key_and_scopes(folder: tuple[Path, str], tmp_path: Path) -> None:
    data, db = folder
    code, out, _ = run(
        "incidents", "member", "carol", "--org", "Org A", "--role", "member", data=data, database=db
    )
    member = out.strip().rsplit(": ", 1)[1]
    code, key, _ = run("incidents", "key", member, "--scopes", "read", data=data, database=db)
    assert code == 0 and key.startswith("nvk_")
    source = write(tmp_path / "i.json", visibility="draft")
    code, _, err = run(
        "incidents",
        "create",
        "--from",
        str(source),
        "--api-key",
        key.strip(),
        data=data,
        database=db,
    )
    assert code == 1 and "write scope" in err
    code, _, err = run("incidents", "list", "--api-key", "nvk_bad_key", data=data, database=db)
    assert code == 1 and err.strip() == "error: --api-key: invalid, expired or revoked"
    code, _, err = run("incidents", "key", data=data, database=db)
    assert code == 1 and "--revoke ID" in err
    code, out, _ = run(
        "incidents",
        "member",
        "dana",
        "--org",
        "Org A",
        "--role",
        "org_admin",
        data=data,
        database=db,
    )
    dana = out.strip().rsplit(": ", 1)[1]
    code, admin_key, _ = run(
        "incidents", "key", dana, "--scopes", "read,admin", "--days", "10", data=data, database=db
    )
    for scopes, days, problem in (("read", "11", "outlives"), ("write", "5", "more scopes")):
        code, _, err = run(
            "incidents", "key", member, "--scopes", scopes, "--days", days,
            "--api-key", admin_key.strip(), data=data, database=db,
        )  # fmt: skip
        assert code == 1 and problem in err
    ident = key.split("_")[1]
    code, out, err = run("incidents", "key", "--revoke", ident, data=data, database=db)
    assert code == 0 and f"revoked key {ident}" in out, err
    code, _, err = run("incidents", "list", "--api-key", key.strip(), data=data, database=db)
    assert code == 1 and "revoked" in err
    code, _, err = run("incidents", "key", "--revoke", "0000000000000000", data=data, database=db)
    assert code == 1 and err.strip() == "error: no key '0000000000000000'"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"countries": ["XX"]}, "countries[0]: unknown country code 'XX'"),
        ({"end": {"time": "2026-05-01T00:00:00Z"}}, "end.time: before start.time"),
        (
            {"evidence": [{"type": "measurement", "ref": "20260101T000000Z_nope"}]},
            "no measurement '20260101T000000Z_nope'",
        ),
        ({"title": "t" * 201}, "title[en]: 201 characters, at most 200"),
        ({"kind": "coup"}, "kind: 'coup' is not one of: website_blocking, app_blocking, "),
        (
            {"targets": [{"type": "domian", "value": "x.example"}]},
            "targets[0].type: 'domian' is not one of: domain, url, app, protocol, ip",
        ),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(
    folder: tuple[Path, str], tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    data, db = folder
    source = write(tmp_path / "bad.json", **fields)
    code, _, err = run(
        "incidents", "create", "--from", str(source), "--org", "Org A", data=data, database=db
    )
    assert code == 1 and message in err and "Traceback" not in err
    assert err.count("\n") == 1
    code, out, _ = run("incidents", "list", "--json", data=data, database=db)
    assert code == 0 and out == ""
    code, _, err = run(
        "incidents",
        "create",
        "--from",
        str(tmp_path / "missing.json"),
        "--org",
        "Org A",
        data=data,
        database=db,
    )
    assert code == 1 and "cannot read" in err


def test_verify_needs_no_data_folder_and_refuses_garbage(tmp_path: Path) -> None:
    garbage = tmp_path / "g.json"
    garbage.write_text("{not json")
    result = runner.invoke(app, ["incidents", "verify", str(garbage), "--public-key", "AAAA"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1


def test_the_example_is_valid_as_printed(folder: tuple[Path, str], tmp_path: Path) -> None:
    data, db = folder
    result = runner.invoke(app, ["incidents", "create", "--example"])
    assert result.exit_code == 0
    example = tmp_path / "example.json"
    example.write_text(result.stdout)
    assert json.loads(result.stdout)["visibility"] == "draft"  # trying it shares nothing
    code, out, err = run(
        "incidents", "create", "--from", str(example), "--org", "Org A", "--json",
        data=data, database=db,
    )  # fmt: skip
    assert code == 0, err
    made = json.loads(out)
    assert made["kind"] == "website_blocking" and made["targets"][0]["value"] == "www.bbc.com"
    code, _, err = run("incidents", "create", "--org", "Org A", data=data, database=db)
    assert code == 1 and "--example" in err


@pytest.mark.parametrize(
    "command",
    ["create", "list", "show", "org", "member", "key", "group", "export", "publish", "retract"],
)
def test_every_command_on_an_instance_takes_the_four_options_in_one_place(command: str) -> None:
    result = runner.invoke(app, ["incidents", command, "--help"], env={"COLUMNS": "100"})
    options = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  --")]
    where = ["--data-dir", "--api-key", "--database", "--public-url"]
    start = options.index("--data-dir")
    assert result.exit_code == 0 and options[start : start + 4] == where
    assert result.stdout.count("http://127.0.0.1:8000]") == 1  # --public-url's default


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ("nosuch://x", "Can't load plugin: sqlalchemy.dialects:nosuch"),
        ("mysql://u@127.0.0.1:1/x", "No module named 'MySQLdb'"),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line(
    tmp_path: Path, database: str, message: str
) -> None:
    code, out, err = run("incidents", "list", data=tmp_path / "data", database=database)
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: cannot open the incident database: {message}"]
