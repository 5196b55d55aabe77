"""Hand-made analysis rows of apps and tools, one set per status, for "what works here".

Built with the pipeline's own row builder (observatory/columns.build) from a verdict's part
(`Judged`) and written as the pipeline writes them (tables.write_rows), so the query reads a
real Parquet table through DuckDB. NOW is the end of the window; each row's age is in hours.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from netvigil.observatory.columns import Judged, Row, build
from netvigil.observatory.tables import compact, write_rows
from netvigil.records import Envelope

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
IRANCELL, MCI = 44244, 197207
HOW = {
    "blocked": Judged(outcome="blocked", layer="tcp", technique="tcp_timeout", rule="x.tcp"),
    "tampered": Judged(
        outcome="tampered", layer="tls", technique="tls_mitm_certificate", rule="x.tls_mitm"
    ),
}


def row(uid: str, test: str, outcome: str, hours_ago: float, asn: int, cc: str = "IR") -> Row:
    started = NOW - dt.timedelta(hours=hours_ago)
    return build(
        Envelope(test_name=test, probe_cc=cc, probe_asn=f"AS{asn}"),
        uid,
        None,
        (),
        NOW,
        # A blocked or tampered verdict names its layer and technique, as every analyser's does.
        HOW.get(outcome, Judged(outcome=outcome)),
        cc=cc,
        asn=asn,
        test=test,
        started=started,
        source="archive",
        line=None,
    )


ROWS = [
    # signal: two ok on one network, an insufficient later on the other -> works
    row("sig-1", "signal", "ok", 3, IRANCELL),
    row("sig-2", "signal", "ok", 2, IRANCELL),
    row("sig-3", "signal", "insufficient", 1, MCI),
    # telegram: blocked on one network, ok on the other -> mixed (blocked / works by network)
    row("tg-1", "telegram", "blocked", 4, IRANCELL),
    row("tg-2", "telegram", "ok", 2, MCI),
    # whatsapp: blocked only -> blocked
    row("wa-1", "whatsapp", "blocked", 5, IRANCELL),
    row("wa-2", "whatsapp", "blocked", 1.5, IRANCELL),
    # facebook_messenger: no verdict of access or blocking -> no recent evidence
    row("fb-1", "facebook_messenger", "insufficient", 2, IRANCELL),
    row("fb-2", "facebook_messenger", "unanalysed", 3, IRANCELL),
    row("fb-3", "facebook_messenger", "error", 4, IRANCELL),
    # Tor blocked, Snowflake works
    row("vt-1", "vanilla_tor", "blocked", 2, IRANCELL),
    row("vt-2", "vanilla_tor", "blocked", 6, IRANCELL),
    row("vt-3", "vanilla_tor", "blocked", 10, IRANCELL),
    row("sf-1", "torsf", "ok", 0.5, IRANCELL),
    # tor: ok, but two days ago (outside the window); blocked, but after NOW -> no evidence
    row("tor-1", "tor", "ok", 48, IRANCELL),
    row("tor-2", "tor", "blocked", -1, IRANCELL),
    # psiphon: tampered only -> mixed; openvpn: ok and tampered -> mixed
    row("ps-1", "psiphon", "tampered", 3, IRANCELL),
    row("ov-1", "openvpn", "ok", 3, IRANCELL),
    row("ov-2", "openvpn", "tampered", 2, IRANCELL),
    # riseupvpn: down only (its servers failing for everyone) -> no recent evidence
    row("ru-1", "riseupvpn", "down", 2, IRANCELL),
    # not this country, not an app: neither counts
    row("it-1", "signal", "blocked", 1, 30722, cc="IT"),
    row("web-1", "web_connectivity", "blocked", 1, IRANCELL),
]


def tables(root: Path) -> Path:
    folder = root / "tables" / "analysis"  # as DataDir.tables
    write_rows(folder, ROWS[:10])  # two batches, as the pipeline writes them, then compacted
    write_rows(folder, ROWS[10:])
    compact(folder)
    return folder
