"""`netvigil probe run --test NAME --endpoint KEY=VALUE`: one-line errors first, then the run.

Every mistake is refused in one line before consent is asked or the data folder created.
The runs go end to end through the command line on loopback: web_connectivity through the
same sink, and `Knock` (tests/probe/knock.py, a real nettest of TCP connects) registered
for the test as the other nettests register themselves in probe/nettests.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from netvigil.cli.main import app
from netvigil.cli.probe_summary import works_here_block
from netvigil.lab.dnsserver import Answer
from netvigil.lab.webserver import Behaviour
from netvigil.net import stun
from netvigil.observatory.works_here import Tally
from netvigil.probe.nettests import NETTESTS
from netvigil.probe.whoami import WHOAMI
from tests.cli.loopback_dns import running_dns, system_resolver
from tests.cli.test_probe import running_site
from tests.observatory.running import start_server, wait_ready
from tests.probe.knock import Knock
from tests.probe.world import free_port

runner = CliRunner()
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def knocks(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    tests: dict[str, Any] = {
        "knock_test": Knock(),
        "knock_input": Knock(name="knock_input", input="required"),
    }
    for name, test in tests.items():
        monkeypatch.setitem(NETTESTS, name, test)
    return tests


@pytest.fixture
def listener() -> Iterator[int]:
    """A loopback port that accepts connections (a thread, closed after the test)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(10)
    server.close()


def _probe(tmp_path: Path, *extra: str) -> Any:
    return runner.invoke(
        app,
        ["probe", "run", "--accept-risks", "--data-dir", str(tmp_path / "d"), *extra],
        env={"COLUMNS": "200"},  # the summary table's cells whole
    )


# Issue 13's nettests, and the two knocks this module adds.
KNOWN = (
    "web_connectivity, dnscheck, facebook_messenger, http_header_field_manipulation, "
    "http_invalid_request_line, knock_input, knock_test, ndt, signal, stunreachability, "
    "telegram, tor, torsf, vanilla_tor, whatsapp"
)
BAD = [
    (["--test", "nope"], f"error: --test: unknown nettest 'nope' (known: {KNOWN})"),
    (["--test", "knock_test,nope"], f"error: --test: unknown nettest 'nope' (known: {KNOWN})"),
    (
        ["--test", "knock_test", "--endpoint", "knock"],
        "error: --endpoint 'knock' is not KEY=VALUE (e.g. dc=127.0.0.1:443)",
    ),
    (
        ["--test", "knock_test", "--endpoint", "knock=127.0.0.1"],
        "error: knock_test: --endpoint knock: '127.0.0.1' is not HOST:PORT (e.g. 127.0.0.1:8443)",
    ),
    (
        ["--test", "knock_test", "--endpoint", "dc=127.0.0.1:1"],
        "error: --endpoint 'dc=127.0.0.1:1': no nettest of this run takes 'dc'; knock_test "
        "takes knock",
    ),
    (
        ["--input", "http://127.0.0.1:1/", "--endpoint", "dc=127.0.0.1:1"],
        "error: --endpoint 'dc=127.0.0.1:1': no nettest of this run takes 'dc'; "
        "web_connectivity takes none: its test helper is --th",
    ),
    (
        ["--test", "knock_test", "--input", "x"],
        "error: knock_test: takes no input (--input and --input-file are for web_connectivity "
        "and nettests that take input)",
    ),
    (["--test", "knock_input"], "error: knock_input needs input: give --input or --input-file"),
    (
        ["--test", "knock_test", "--country", "IT"],
        "error: --test-list, --country and --category are web_connectivity's inputs: add "
        "--test web_connectivity",
    ),
    (
        ["--test", "vanilla_tor", "--tor-binary", "{missing}"],
        "error: vanilla_tor: tor: no `{missing}` binary found; install it: apt install tor "
        "(or pass --tor-binary PATH)",
    ),
]


FP, V3 = "0123456789ABCDEF" * 2 + "01234567", "89abcdef" * 5  # 40 hex digits each


def _given(*items: str) -> list[str]:
    return [word for item in items for word in ("--endpoint", item)]


# Each nettest's own check (`check_endpoints`), before the tor binary is looked for: a value
# only a nettest knows the kind of, refused in one line naming nettest, key and value.
BAD_VALUES = [
    (
        ["--test", "vanilla_tor", "--endpoint", "dirauth_id=nothex"],
        "error: vanilla_tor: --endpoint dirauth_id: 'nothex' is not FINGERPRINT:V3IDENT (40 hex "
        "digits each)",
    ),
    (
        [
            *("--test", "vanilla_tor", *_given("dirauth=127.0.0.1:5100")),
            *_given(f"dirauth_id={FP}:{V3}", f"dirauth_id={V3}:{FP}"),
        ],
        "error: vanilla_tor: --endpoint dirauth_id: 2 given for 1 dirauth (one "
        "FINGERPRINT:V3IDENT per dirauth, in order)",
    ),
    (
        ["--test", "vanilla_tor", "--endpoint", "dirauth=tor.example:9001"],
        "error: vanilla_tor: --endpoint dirauth: 'tor.example:9001': tor needs an IP address, "
        "not a name",
    ),
    (
        ["--test", "torsf", "--endpoint", "front=a b"],
        "error: torsf: --endpoint front: 'a b' is not a plain URL, name or list",
    ),
    (  # a word that would be an option to snowflake-client, not a domain
        ["--test", "torsf", "--endpoint", "front=-log=/tmp/x"],
        "error: torsf: --endpoint front: '-log=/tmp/x' is not a host name or address",
    ),
    (
        ["--test", "torsf", "--endpoint", "ice=stun:127.0.0.1:3478,turn:127.0.0.1:3478"],
        "error: torsf: --endpoint ice: 'turn:127.0.0.1:3478' in "
        "'stun:127.0.0.1:3478,turn:127.0.0.1:3478' is not stun:HOST[:PORT]",
    ),
    (
        ["--test", "torsf", "--endpoint", "broker=ftp://127.0.0.1/"],
        "error: torsf: --endpoint broker: 'ftp://127.0.0.1/' is not a http/https URL",
    ),
    (
        ["--test", "signal", "--endpoint", "uptime=uptime signal org"],
        "error: signal: --endpoint uptime: 'uptime signal org' is not a host name or address",
    ),
    (
        ["--test", "facebook_messenger", "--endpoint", "asn=Facebook"],
        "error: facebook_messenger: --endpoint asn: 'Facebook' is not an AS number",
    ),
    (
        ["--test", "dnscheck", "--endpoint", "resolver=ftp://127.0.0.1/"],
        "error: dnscheck: --endpoint resolver: 'ftp://127.0.0.1/' is not a resolver URL "
        "(udp://, tcp://, dot://HOST:PORT or https://HOST/PATH)",
    ),
    (
        ["--test", "stunreachability", "--endpoint", "stun=stun.example"],
        "error: stunreachability: --endpoint stun: 'stun.example' is not HOST:PORT (e.g. "
        "127.0.0.1:8443)",
    ),
    (
        ["--test", "ndt", "--endpoint", "server=ftp://127.0.0.1/"],
        "error: ndt: --endpoint server: 'ftp://127.0.0.1/' is not a http/https/ws/wss URL",
    ),
    (
        ["--test", "telegram", "--endpoint", "web=web.telegram.org"],
        "error: telegram: --endpoint web: 'web.telegram.org' is not a http/https URL",
    ),
    (  # a key two nettests share: each checks it as it reads it
        [
            "--test",
            "signal,http_header_field_manipulation",
            *_given("backend=https://127.0.0.1:1/"),
        ],
        "error: http_header_field_manipulation: --endpoint backend: 'https://127.0.0.1:1/' is not "
        "a http URL",
    ),
]


@pytest.mark.parametrize(("options", "wanted"), BAD + BAD_VALUES)
def test_mistakes_are_one_line_before_consent_and_nothing_is_written(
    tmp_path: Path, knocks: dict[str, Any], options: list[str], wanted: str
) -> None:
    missing = str(tmp_path / "no-tor-here")
    result = runner.invoke(
        app,
        ["probe", "run", "--data-dir", str(tmp_path / "d")]  # no --accept-risks: no quiz
        + [o.format(missing=missing) for o in options],
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # an exit, not a traceback
    assert result.stderr.splitlines() == [wanted.format(missing=missing)]
    assert not (tmp_path / "d").exists()  # no consent asked, no folder, nothing measured
    assert knocks["knock_test"].most == 0 and knocks["knock_input"].most == 0


@pytest.mark.parametrize(
    "options",
    [
        [
            *("--test", "vanilla_tor"),
            *_given("dirauth=127.0.0.1:5100", "dirauth=127.0.0.1:5101"),
            *_given(f"dirauth_id={FP}:{V3}", f"dirauth_id={V3}:{FP}"),
        ],
        [
            *("--test", "torsf"),
            *_given("front=none", "broker=http://127.0.0.1:1/"),
            *_given("ice=stun:127.0.0.1:3478,stun:localhost", "ice=stun:x.test"),
            *_given("dirauth=127.0.0.1:5100", f"dirauth_id={FP}:{V3}"),
        ],
        ["--test", "torsf", *_given("front=front.example")],
    ],
)
def test_values_that_are_not_addresses_pass_each_nettest_s_check(
    tmp_path: Path, options: list[str]
) -> None:
    """A fingerprint, `front=none`, a list of ICE servers are the nettests' own kinds: the run
    gets past every endpoint check to the next one, the tor binary (here missing: nothing
    starts, nothing is written)."""
    missing = str(tmp_path / "no-tor-here")
    name = options[1]
    result = runner.invoke(
        app, ["probe", "run", "--data-dir", str(tmp_path / "d"), "--tor-binary", missing, *options]
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"error: {name}: tor: no `{missing}` binary found; install it: apt install tor (or pass "
        "--tor-binary PATH)"
    ]
    assert not (tmp_path / "d").exists()


def test_nettests_of_one_run_each_get_their_own_keys_and_a_host_name_value(
    tmp_path: Path, knocks: dict[str, Any], listener: int
) -> None:
    """knock_test and signal in one run, each with its own keys: neither takes the other's for
    a typo, and signal's `uptime` is a host name (resolved, recorded, ignored), not HOST:PORT."""
    backend = f"https://127.0.0.1:{free_port()}/"  # nothing listens there
    result = _probe(
        tmp_path,
        *("--test", "knock_test,signal", "--probe-ip", "127.0.0.5", "--json"),
        *_given(f"knock=127.0.0.1:{listener}", "uptime=localhost", f"backend={backend}"),
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x)["measurement"] for x in result.stdout.splitlines()]
    assert [m["test_name"] for m in lines] == ["knock_test", "signal"]
    knock, signal = (m["test_keys"] for m in lines)
    assert [(c["ip"], c["status"]["success"]) for c in knock["tcp_connect"]] == [
        ("127.0.0.1", True)
    ]
    assert [q["hostname"] for q in signal["queries"]] == ["localhost"]
    assert [r["request"]["url"] for r in signal["requests"]] == [backend]
    assert signal["signal_backend_status"] == "blocked"


def test_help_describes_every_option_with_its_metavar_and_lists_the_nettests() -> None:
    result = runner.invoke(app, ["probe", "run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = re.sub(r"\s+", " ", result.output)
    for option, metavar in [
        ("--test", "NAME[,NAME...]"),
        ("--endpoint", "KEY=VALUE"),
        ("--tor-binary", "PATH"),
        ("--input", "INPUT"),
    ]:
        assert re.search(rf"{re.escape(option)} {re.escape(metavar)} ", text), option
    assert "web_connectivity" in text


def test_a_nettest_runs_end_to_end_written_scrubbed_with_its_report_id(
    tmp_path: Path, knocks: dict[str, Any], listener: int
) -> None:
    out = tmp_path / "out.jsonl"
    # The probe's "public" address is a lab one here: the connect to it must be scrubbed.
    with running_dns({}) as dns:  # knowing its address, the run asks its resolver's identity
        result = _probe(
            tmp_path,
            *("--test", "knock_test", "--output", str(out), "--json"),
            *("--probe-ip", "127.0.0.5", "--lab-network", "127.0.0.0/8"),
            *("--endpoint", f"knock=127.0.0.1:{listener}", "--endpoint", "knock=127.0.0.5:9"),
            *system_resolver(dns),
        )
    assert result.exit_code == 0, result.output
    (written,) = [json.loads(line) for line in out.read_text().splitlines()]
    (saved,) = (tmp_path / "d" / "results").glob("*.jsonl")
    assert saved.read_text() == out.read_text()
    assert "127.0.0.5" not in out.read_text()
    connects = [(c["ip"], c["status"]["success"]) for c in written["test_keys"]["tcp_connect"]]
    assert connects == [("127.0.0.1", True), ("[scrubbed]", False)]
    assert "_knocktest_ZZ_0_n1_" in written["report_id"]
    # --json: the measurement, and no verdict (no analyser judges this nettest).
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line == {"measurement": written, "verdict": None}


def test_web_connectivity_and_a_nettest_share_the_run(
    tmp_path: Path, knocks: dict[str, Any], listener: int
) -> None:
    for site in running_site(lambda host, path, client: Behaviour()):
        result = _probe(
            tmp_path,
            *("--test", "web_connectivity,knock_test", "--th", "http://127.0.0.1:1/"),
            *("--input", f"http://127.0.0.1:{site.port}/"),
            *("--endpoint", f"knock=127.0.0.1:{listener}"),
        )
    assert result.exit_code == 0, result.output
    (saved,) = (tmp_path / "d" / "results").glob("*.jsonl")
    lines = [json.loads(line) for line in saved.read_text().splitlines()]
    assert [m["test_name"] for m in lines] == ["web_connectivity", "knock_test"]
    assert "saved 2 measurement(s)" in result.stderr
    # The summary names each nettest; one no analyser judges reads "unanalysed", never ok.
    rows = [r for r in result.stdout.splitlines() if "knock_test" in r]
    assert len(rows) == 1 and "unanalysed" in rows[0], result.stdout


# (what the resolver answers the whoami name, whether the probe knows its address) ->
# (the resolver written, whoami questions asked: a lookup is its A and AAAA questions).
WHOAMI_CASES = [
    (Answer(addresses=("127.0.0.53",)), True, ("127.0.0.53", 2)),
    (Answer(addresses=("127.0.0.5",)), True, ("", 2)),  # the probe is its own resolver
    # The A question, asked twice (glibc's attempts:2, net/backend.py), times out: no AAAA.
    (Answer(silent=True), True, ("", 2)),
    (Answer(addresses=("127.0.0.53",)), False, ("", 0)),  # nothing to check an answer against
]


@pytest.mark.parametrize(
    ("whoami", "address_known", "expected"),
    WHOAMI_CASES,
    ids=["public", "the-probe-itself", "timeout", "probe-address-unknown"],
)
def test_the_run_asks_its_resolver_once_and_every_measurement_carries_the_answer(
    tmp_path: Path,
    knocks: dict[str, Any],
    listener: int,
    whoami: Answer,
    address_known: bool,
    expected: tuple[str, int],
) -> None:
    # Loopback plays the public Internet (--lab-network); the probe's address is 127.0.0.5.
    known = ("--probe-ip", "127.0.0.5") if address_known else ()
    with running_dns({WHOAMI: whoami}) as dns:
        for site in running_site(lambda host, path, client: Behaviour()):
            result = _probe(
                tmp_path,
                *("--test", "web_connectivity,knock_test", "--th", "http://127.0.0.1:1/"),
                *("--input", f"http://127.0.0.1:{site.port}/"),
                *("--endpoint", f"knock=127.0.0.1:{listener}", "--lab-network", "127.0.0.0/8"),
                *known,
                *system_resolver(dns),
            )
    assert result.exit_code == 0, result.output
    (saved,) = (tmp_path / "d" / "results").glob("*.jsonl")
    web, knock = [json.loads(line) for line in saved.read_text().splitlines()]
    address, questions = expected
    assert (web["test_keys"]["client_resolver"], web["resolver_ip"], knock["resolver_ip"]) == (
        address,
        address,
        address,
    )
    assert {m["resolver_asn"] for m in (web, knock)} == {"AS0"}  # no database places it
    assert (dns.queries.count(WHOAMI), len(dns.queries)) == (questions, questions)
    assert not re.search(r"127\.0\.0\.5\b", saved.read_text())  # the probe's, never written


def test_web_connectivity_through_the_test_option_is_the_default_run(
    tmp_path: Path,
) -> None:
    for site in running_site(lambda host, path, client: Behaviour()):
        given = ("--input", f"http://127.0.0.1:{site.port}/", "--th", "http://127.0.0.1:1/")
        named = _probe(tmp_path / "a", "--test", "web_connectivity", *given, "--json")
        default = _probe(tmp_path / "b", *given, "--json")
    for result in (named, default):
        assert result.exit_code == 0, result.output
        (line,) = [json.loads(x) for x in result.stdout.splitlines()]
        assert line["measurement"]["test_name"] == "web_connectivity"
        assert "_webconnectivity_" in line["measurement"]["report_id"]
        assert line["verdict"]["test_name"] == "web_connectivity"


def test_what_works_here_after_a_run_reads_this_run_s_verdicts_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    run = [
        Tally(test_name="vanilla_tor", outcome="blocked", count=1, last=now - HOUR, uid=None),
        Tally(test_name="torsf", outcome="ok", count=1, last=now - HOUR, uid=None),
        Tally(test_name="telegram", outcome="insufficient", count=1, last=now, uid=None),
        Tally(test_name="web_connectivity", outcome="blocked", count=1, last=now, uid=None),
    ]
    works_here_block(run, now)
    assert capsys.readouterr().out.splitlines() == [
        "What works here now (this run's measurements only; the explorer's country page adds "
        "everyone's of the last day):",
        "  Telegram: no evidence either way (1 insufficient)",
        "  Tor blocked (vanilla_tor) — 1 measurement, last 1 h ago",
        "  Snowflake works (torsf) — 1 measurement, last 1 h ago",
    ]
    works_here_block(run[3:], now)  # no app or tool in the run: nothing said
    assert capsys.readouterr().out == ""


def test_a_nettest_s_measurements_upload_unchanged(
    tmp_path: Path, knocks: dict[str, Any], listener: int
) -> None:
    """The collector opens a report for any test_name and keeps the measurement as sent."""
    port = free_port()
    server = start_server(tmp_path / "observatory", port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        result = _probe(
            tmp_path,
            *("--test", "knock_test", "--endpoint", f"knock=127.0.0.1:{listener}"),
            *("--upload", url, "--probe-ip", "127.0.0.1"),
        )
        assert result.exit_code == 0, result.output
        assert "uploaded 1, already uploaded 0" in result.stderr
        ledger = (tmp_path / "d" / "uploaded.jsonl").read_text().splitlines()
        (uid,) = [json.loads(x)["uid"] for x in ledger]
        raw = httpx.get(f"{url}/api/v1/raw_measurement", params={"measurement_uid": uid}).json()
        (saved,) = (tmp_path / "d" / "results").glob("*.jsonl")
        sent = json.loads(saved.read_text())
        assert raw["test_name"] == "knock_test" and raw["test_keys"] == sent["test_keys"]
        assert "_knocktest_" in raw["report_id"]  # the collector's own id names it too
    finally:
        server.terminate()
        server.wait(10)


class _ThreadedSTUN:
    """A STUN responder on a loopback UDP port, in a thread (the CLI runs its own loop)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            tid = stun.transaction_of(data)
            if tid is not None:
                self.sock.sendto(stun.binding_response(tid, peer), peer)
                self.answered += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def test_a_real_nettest_runs_through_the_cli_with_the_lab_networks_it_was_given(
    tmp_path: Path,
) -> None:
    """stunreachability against a loopback STUN server named `localhost` (/etc/hosts): without
    --lab-network the name's answer is a bogon the probe does not contact (OONI's rule); with
    it, the binding is answered."""
    server = _ThreadedSTUN()
    try:
        stun_at = f"stun=localhost:{server.port}"
        refused = _probe(tmp_path, "--test", "stunreachability", "--endpoint", stun_at, "--json")
        told = _probe(
            tmp_path,
            *("--test", "stunreachability", "--endpoint", stun_at, "--json"),
            *("--lab-network", "127.0.0.0/8"),
        )
    finally:
        server.close()
    assert refused.exit_code == 0 and told.exit_code == 0, (refused.output, told.output)
    (bogon,) = [json.loads(x) for x in refused.stdout.splitlines()]
    (answered,) = [json.loads(x) for x in told.stdout.splitlines()]
    assert server.answered == 1  # only the run that was told the lab's networks sent one
    assert bogon["measurement"]["test_keys"]["failure"] is not None
    assert bogon["verdict"]["outcome"] != "ok"
    assert answered["measurement"]["test_keys"]["failure"] is None
    assert (answered["verdict"]["outcome"], answered["verdict"]["rule"]) == (
        "ok",
        "stun.binding_ok",
    )
