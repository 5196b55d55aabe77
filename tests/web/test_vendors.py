"""Vendors per country over a real pipeline run: `/vendors`, the country page's section, the
data API's `vendor=` filter and axis, and old Parquet files without the `vendor` column.

The data is the corpus's web_connectivity JSONL (real OONI measurements) ingested by the
pipeline. One of them names a product: the AU measurement of http://www.feminist.org (line 7,
OONI's fastpath fixture web_connectivity_b64_hdr.json) was redirected to Check Point's UserCheck
portal (Location: http://192.168.22.1/UserCheck/PortalMain?IID=..., Citizen Lab's row
cl.prod_checkpoint_urlfilter_forward). Expected values are that measurement's own keys.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from netvigil.incidents import accounts, misp, stix
from netvigil.incidents.access import ROLE_SCOPES, Principal, Role
from netvigil.incidents.instance import Instance
from netvigil.incidents.model import IncidentInput
from netvigil.observatory import tables
from netvigil.observatory.ingest import ingest_file
from netvigil.server import create_app
from netvigil.web.vendors import vendors_seen
from tests.corpus import JSONL

UID = "01201707254a40e230fa0f9c80ea07a421b9f2ec"
AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def measurement() -> dict[str, Any]:
    for line in JSONL.read_text("utf-8").splitlines():
        if line.strip() and json.loads(line).get("measurement_uid") == UID:
            return dict(json.loads(line))
    raise AssertionError(f"{UID} is not in {JSONL}")


MSMT = measurement()
ASN = int(MSMT["probe_asn"].removeprefix("AS"))  # AS9443
STARTED = dt.datetime.fromisoformat(MSMT["measurement_start_time"]).replace(tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vendors")
    result = ingest_file(str(JSONL), str(root / "tables" / "analysis"))
    assert result.rows > 0 and not result.errors, result
    tables.compact(root / "tables" / "analysis")
    return root


@pytest.fixture(scope="module")
def client(root: Path) -> TestClient:
    return TestClient(create_app(root), follow_redirects=False)


def test_the_pipeline_keeps_the_vendor(root: Path) -> None:
    (seen,) = vendors_seen(root / "tables" / "analysis")
    assert (seen.vendor, seen.probe_cc, seen.measurements, seen.networks) == (
        "Check Point",
        MSMT["probe_cc"],
        1,
        1,
    )
    assert (seen.probe_asn, seen.first, seen.last, seen.witnesses) == (
        (ASN,),
        STARTED,
        STARTED,
        (UID,),
    )
    assert vendors_seen(root / "tables" / "analysis", "IR") == []


def test_the_vendors_page(client: TestClient) -> None:
    page = client.get("/vendors")
    assert page.status_code == 200
    body = page.text
    assert '<th scope="row">Check Point</th>' in body
    assert f'href="/measurement/{UID}"' in body
    assert f'href="/network/AS{ASN}"' in body
    assert 'href="/country/AU"' in body
    assert "/api/v1/aggregation?axis_x=vendor&amp;axis_y=probe_cc" in body


def test_the_country_page_lists_its_vendors(client: TestClient) -> None:
    au = client.get("/country/AU").text
    assert 'id="vendors"' in au and "Check Point" in au and f"/measurement/{UID}" in au
    assert '<a href="/vendors">' in au
    it = client.get("/country/IT").text  # measured, but no blockpage there names a product
    assert client.get("/country/IT").status_code == 200 and 'id="vendors"' not in it


def test_the_persian_page_translates_or_keeps_every_string(client: TestClient) -> None:
    page = client.get("/vendors", headers={"Accept-Language": "fa"})
    assert page.status_code == 200 and "Check Point" in page.text
    # The catalogue's Persian for "Filtering products seen" and "Witness measurements".
    assert "محصولات فیلترینگ مشاهده‌شده" in page.text and "سنجش‌های گواه" in page.text
    assert "Filtering products seen" not in page.text


def test_the_data_api_filters_and_aggregates_by_vendor(client: TestClient) -> None:
    results = client.get("/api/v1/analysis", params={"vendor": "Check Point"}).json()["results"]
    assert [r["measurement_uid"] for r in results] == [UID]
    assert results[0]["vendor"] == "Check Point"
    listed = client.get("/api/v1/measurements", params={"vendor": "Check Point"})
    assert listed.status_code == 200
    assert [r["measurement_uid"] for r in listed.json()["results"]] == [UID]
    none = client.get("/api/v1/measurements", params={"vendor": "Zscaler"}).json()
    assert none["results"] == []
    cells = client.get("/api/v1/aggregation", params={"axis_x": "vendor"}).json()["result"]
    named = {c["vendor"]: c["measurement_count"] for c in cells if c["vendor"] is not None}
    assert named == {"Check Point": 1}
    bad = client.get("/api/v1/measurements", params={"vendor": "a\nb"})
    assert bad.status_code == 400 and "vendor" in bad.text


def test_old_files_without_the_vendor_column(root: Path, tmp_path: Path) -> None:
    """Files written before the column existed read as NULL in it, beside new files."""
    folder = tmp_path / "analysis"
    shutil.copytree(root / "tables" / "analysis", folder)
    files = sorted(folder.glob("**/*.parquet"))
    au = [f for f in files if "probe_cc=AU" in str(f)]
    for path in files:
        if path in au:
            continue  # the AU partition stays new: vendor column present
        table = pq.read_table(path, partitioning=None)
        pq.write_table(table.drop_columns(["vendor"]), path)
    assert all("vendor" not in pq.read_schema(f).names for f in files if f not in au)
    (seen,) = vendors_seen(folder)
    assert (seen.vendor, seen.witnesses) == ("Check Point", (UID,))
    for path in au:  # now every file is old: the column still exists, all NULL
        table = pq.read_table(path, partitioning=None)
        pq.write_table(table.drop_columns(["vendor"]), path)
    assert vendors_seen(folder) == []
    with tables.reading(folder) as db:
        (count,) = db.execute("SELECT count(*) FROM analysis WHERE vendor IS NULL").fetchone() or (
            0,
        )
        (total,) = db.execute("SELECT count(*) FROM analysis").fetchone() or (0,)
    assert count == total > 0


def person(instance: Instance, org: str) -> Principal:
    ident = accounts.create_member(
        instance.engine, org, "analyst", Role.MEMBER.value, password=None, actor="operator", now=AT
    )
    return Principal(
        kind="member",
        member_id=ident,
        org_id=org,
        role=Role.MEMBER,
        scopes=ROLE_SCOPES[Role.MEMBER],
        name="analyst",
    )


def test_an_incident_s_evidence_names_the_vendor(client: TestClient) -> None:
    instance: Instance = client.app.state.incidents  # type: ignore[attr-defined]
    org = accounts.create_org(instance.engine, "Vendors test org", actor="operator", now=AT)
    other = next(  # a measurement of the corpus whose verdict names no product
        r["measurement_uid"]
        for r in client.get("/api/v1/analysis", params={"probe_cc": "IT"}).json()["results"]
    )
    data = {
        "title": "feminist.org blocked by a Check Point filter in Australia",
        "kind": "website_blocking",
        "countries": ["AU"],
        "start": {"time": "2017-07-25T17:00:00Z", "precision": "hour"},
        "techniques": ["http_blockpage"],
        "targets": [{"type": "domain", "value": "www.feminist.org"}],
        "evidence": [{"type": "measurement", "ref": UID}, {"type": "measurement", "ref": other}],
        "visibility": "coalition",
    }
    made = instance.service.create(person(instance, org), msgspec.convert(data, IncidentInput))
    assert [(e.ref, e.vendor) for e in made.evidence] == [(UID, "Check Point"), (other, None)]
    comments = [
        getattr(a, "comment", "")
        for a in misp.event(made, "Vendors test org", "http://x").attributes
    ]
    assert [c for c in comments if "vendor" in c] == [
        f"measurement; sha256 {made.evidence[0].sha256}; vendor Check Point"
    ]
    record = next(
        o for o in stix.bundle([made], {org: "Vendors test org"}).objects if o.type == "incident"
    )
    fields = next(iter(record.extensions.values()))
    assert [e.get("vendor") for e in fields["evidence"]] == ["Check Point", None]
