"""schemathesis against a live server: the OpenAPI document tells the truth.

The server is a real `netvigil serve --demo` on loopback (tests/observatory/live.py), once
anonymous and once with a member's API key. Every check but response time (CHECKS) is on:
no 5xx, every status and content type documented, bodies as the document says, data the
document calls valid is accepted and data it calls invalid is refused, undocumented
methods answer 405 with `Allow`.

No request may leave the machine. Two operations take a URL that the server itself would
contact: the test helper's POST /th/ (it resolves and fetches the URL) and POST
/api/v1/webhooks (events are later delivered to it). Generated URLs could name real public
hosts, so both are excluded from the generated run; they are covered by the hostile-input
test (test_hostile.py), which sends them only bodies they must refuse before any connection,
and by their own tests with loopback targets. schemathesis follows no redirects, so it only
ever talks to the loopback base URL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.observatory.live import Live

# Per operation and generation phase: enough to find what is reachable, and the whole test
# stays within a few minutes on two cores.
MAX_EXAMPLES = 10
EXCLUDED = ("POST /th/", "POST /api/v1/webhooks")
CONFIG = Path(__file__).with_name("schemathesis.toml")


# Every check schemathesis has but `max_response_time`, which `--checks all` turns on with a
# 10 s limit: a timed assertion, which fails on a loaded machine, not on a wrong answer
# (a CI run saw an empty measurements query take 20 s while the suite ran beside it).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)


def schemathesis(live: Live, folder: Path, *headers: str) -> tuple[int, str, dict[str, object]]:
    report = folder / "report.json"
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG)),
        *("run", f"{live.url}/openapi.json"),
        *("--checks", ",".join(CHECKS), "--max-examples", str(MAX_EXAMPLES), "--seed", "9"),
        *("--max-redirects", "0", "--request-timeout", "30", "--workers", "1"),
        *("--generation-database", "none", "--no-color", "--suppress-health-check", "all"),
        *("--report", "json", "--report-json-path", str(report)),
        *(f"--exclude-name={name}" for name in EXCLUDED),
        *(part for header in headers for part in ("-H", header)),
    ]
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=900, check=False
    )
    summary = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, done.stdout + done.stderr, summary


@pytest.mark.parametrize("who", ["anonymous", "api_key"])
def test_schemathesis_finds_nothing(live: Live, who: str, tmp_path: Path) -> None:
    headers = [f"Authorization: Bearer {live.key}"] if who == "api_key" else []
    code, output, _ = schemathesis(live, tmp_path, *headers)
    found = output[output.find("= FAILURES =") : output.find("= SUMMARY =")]
    assert code == 0, (found or output)[-20000:]
    assert "Traceback" not in live.log_text()
