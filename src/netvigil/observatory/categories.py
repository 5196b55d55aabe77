"""Each measured domain's Citizen Lab category, for the aggregation's `category_code` axis and
filter (OONI's MAT has it: ooni.md §5.3).

The analysis table has no category: a measurement names a URL, and which category a site is
in is the test lists' knowledge (ooni.md §8), so it is joined in when a query asks for it.
The table is built from the bundled lists (`netvigil.testlists`): one category per domain
(the host of a list's URL, as `addresses.host_of` makes the table's `domain`), because a
domain counted under two categories would be counted twice in a sum over them:

1. the global list's category, the one most of its URLs of the domain have;
2. else the one most URLs of the domain have over the country lists and the one regional
   list (cis), each list counting a URL once (testlists drops a list's duplicate URLs);
3. ties go to the code first in alphabetical order, so the table is the same on every run.

A domain in no list is `uncategorised` (shown so, never dropped), and so is a measurement
with no domain (a nettest without a URL).

The table is written once into the data folder, beside the analysis table, as a small
Parquet file named by a digest of its content: a new release with newer lists writes a new
file and never reads a stale one.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
import os
import uuid
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from netvigil import testlists
from netvigil.addresses import host_of

UNCATEGORISED = "uncategorised"
# A row's category in a query that joins the table as `categories` (data.py's aggregate).
COLUMN = f"coalesce(categories.category_code, '{UNCATEGORISED}')"
GLOBAL = "global"
REGIONAL = ("cis",)  # the one regional list at the bundled commit (data/test-lists/SOURCES.md)


def _counts(names: list[str]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for name in names:
        for target in testlists.bundled_list(name).targets:
            host = host_of(target.url)
            if host and target.category_code:
                counts[host][target.category_code] += 1
    return counts


def _choice(counted: Counter[str]) -> str:
    return min(counted, key=lambda code: (-counted[code], code))


@functools.cache
def table() -> dict[str, str]:
    """domain → category code, by the rules of the module docstring."""
    countries = sorted(cc.lower() for cc in testlists.bundled_countries())
    chosen = {host: _choice(c) for host, c in _counts([*REGIONAL, *countries]).items()}
    chosen.update({host: _choice(c) for host, c in _counts([GLOBAL]).items()})
    return dict(sorted(chosen.items()))


@functools.cache
def described() -> tuple[tuple[str, str], ...]:
    """(code, the legend's name of it) for every value of the axis, `uncategorised` last."""
    legend = resources.files("netvigil") / "data" / "test-lists"
    text = gzip.decompress((legend / "00-LEGEND-new_category_codes.csv.gz").read_bytes())
    rows = csv.DictReader(io.StringIO(text.decode("utf-8"), newline=""))
    names = {r["New Code"].strip(): r["Category Description"].strip() for r in rows}
    return (*sorted(names.items()), (UNCATEGORISED, "in no test list"))


def codes() -> tuple[str, ...]:
    """The values of the axis and filter: the legend's codes and `uncategorised`."""
    return tuple(code for code, _ in described())


@functools.cache
def _digest() -> str:
    content = "\n".join(f"{d},{c}" for d, c in table().items()).encode()
    return hashlib.sha256(content).hexdigest()[:16]


def path(tables: Path) -> Path:
    """The table's file for the analysis table at `tables` (written if missing)."""
    target = tables.parent / f"categories-{_digest()}.parquet"
    if not target.is_file():
        mapping = table()
        columns = {"domain": list(mapping), "category_code": list(mapping.values())}
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        pq.write_table(pa.table(columns), temporary, compression="zstd")
        os.replace(temporary, target)  # readers see the whole file or none (as tables.py)
    return target


def source(tables: Path) -> str:
    """The table as a DuckDB relation in a query (our own path, its quotes escaped)."""
    quoted = str(path(tables)).replace("'", "''")
    return f"read_parquet('{quoted}')"
