"""`python -m netvigil.cli.lab_observatory`: the observatory of a lab run, on the lab's clock.

Started in the lab's `server` namespace with `Lab.start` (teardown stops it). It is the app
`netvigil serve` runs (collector, heartbeats, detection, incidents), with three things only
a lab needs:

- **the lab's clock** (lab/clock.py) as the app's `now`, the same one the probe daemons
  stamp their heartbeats and local checks with, so a run takes minutes and a local check
  lands in the server minute it was recorded in;
- **an alert rule and a subscriber**: an organisation, a member and a webhook subscription
  made in the fresh folder's incidents database, and alert rules (written to the folder as
  `alerts.toml`) that open a suspected incident for any country's or network's outage or
  shutdown;
- **the subscriber's endpoint** in this process, on the same address: it verifies each
  request's Standard Webhooks signature (a forged or damaged one is answered 400 and not
  kept) and appends each webhook-id once to a JSON-lines file, fsynced, which the lab run
  reads from the root namespace (it has no route into the lab, by design).

When both listen it prints one JSON line, {"ready": {"observatory", "webhook", "hooks"}};
SIGTERM or SIGINT end it with status 0. A bad option, a busy port or a folder that cannot be
used is one line on stderr and status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final

import msgspec
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from netvigil.datadir import DataDir
from netvigil.incidents import accounts, webhooks
from netvigil.incidents.alerts import load_rules
from netvigil.incidents.db import OPEN_ERRORS, open_database
from netvigil.lab.clock import LabClock
from netvigil.listening import ListenError, listen, url_of
from netvigil.server import create_app
from netvigil.serving import serve

ORG: Final = "netvigil lab"
RULES: Final = f"""org = "{ORG}"
[[rule]]
name = "lab: countries cut"
entity = "country:*"
kinds = ["outage", "shutdown"]
[[rule]]
name = "lab: networks cut"
entity = "asn:*"
kinds = ["outage", "shutdown"]
"""
MAX_BODY: Final = 1 << 20


class Hooks:
    """The subscriber's endpoint: verified deliveries, each webhook-id once, as JSON lines."""

    def __init__(self, host: str, port: int, path: Path) -> None:
        self.secret, self.path, self.seen = "", path, set[str]()
        self.lock = threading.Lock()
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    self.send_response(413)
                    self.end_headers()
                    return
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(hooks.secret).verify(body, headers)
                except WebhookVerificationError:
                    self.send_response(400)
                    self.end_headers()
                    return
                hooks.keep(headers["webhook-id"], payload)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass  # the kept lines are the log

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.url = f"{url_of(host, port)}hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keep(self, ident: str, payload: object) -> None:
        with self.lock:
            if ident in self.seen:
                return  # a retry of one we have: the id exists for this
            self.seen.add(ident)
            with open(self.path, "ab") as f:
                f.write(msgspec.json.encode({"webhook_id": ident, "payload": payload}) + b"\n")
                f.flush()
                os.fsync(f.fileno())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _subscribe(folder: DataDir, clock: LabClock, url: str) -> str:
    """The organisation, its member and the member's webhook subscription; its secret."""
    engine = open_database(f"sqlite:///{folder.incidents_database}")
    try:
        org = accounts.create_org(engine, ORG, actor="lab", now=clock.now())
        member = accounts.create_member(
            engine, org, "lab", "member", password=None, actor="lab", now=clock.now()
        )
        _, secret = webhooks.subscribe(engine, member, url, actor="lab", now=clock.now())
    finally:
        engine.dispose()
    return secret


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # uvicorn raises the signal again once it has stopped: quietly


def run(args: argparse.Namespace) -> None:
    clock = LabClock(epoch=args.clock_epoch, speed=args.clock_speed)
    folder = DataDir(root=args.data_dir)
    folder.root.mkdir(parents=True, exist_ok=True)
    sock = listen(args.host, args.port)
    hooks = Hooks(args.host, args.hook_port, args.hooks)
    try:
        hooks.secret = _subscribe(folder, clock, hooks.url)
        rules_file = folder.root / "alerts.toml"
        rules_file.write_text(RULES, encoding="utf-8")
        app = create_app(
            folder.root,
            now=clock.now,
            allow_private_targets=True,  # every lab address is private
            geoip=args.geoip_db,
            public_url=url_of(args.host, args.port).rstrip("/"),
            alert_rules=load_rules(rules_file),
            detection_interval=args.detection_interval,
            # A minute nobody heartbeats in counts only if the server noted it was listening:
            # every 15 s of lab time, or a cut network's silent minutes would be unknown.
            listening_tick=15.0 / clock.speed,
            lab_networks=tuple(args.lab_network),
        )
        ready = {"observatory": url_of(args.host, args.port), "webhook": hooks.url}
        print(json.dumps({"ready": {**ready, "hooks": str(args.hooks)}}), flush=True)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _stop)
        serve(app, sock)
    finally:
        hooks.close()
        sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netvigil.cli.lab_observatory")
    parser.add_argument("--data-dir", type=Path, required=True, help="a fresh data folder")
    parser.add_argument("--host", required=True, help="the server namespace's address")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--hook-port", type=int, default=8001, help="the subscriber's port")
    parser.add_argument("--hooks", type=Path, required=True, help="JSON lines, one a delivery")
    parser.add_argument("--geoip-db", type=Path, required=True, help="the lab's GeoIP database")
    parser.add_argument("--clock-epoch", type=float, required=True, help="Unix seconds")
    parser.add_argument("--clock-speed", type=float, required=True, help="lab s per real s")
    parser.add_argument("--detection-interval", type=float, default=1.0, help="real seconds")
    parser.add_argument(
        "--lab-network", action="append", default=[], help="a CIDR analysed as public"
    )
    args = parser.parse_args(argv)
    if not 0.1 <= args.detection_interval <= 3600:
        print("lab observatory: --detection-interval: 0.1 to 3600 seconds", file=sys.stderr)
        return 2
    # GeoIPError is a ValueError, as LabClockError and AlertRulesError are.
    refused: tuple[type[Exception], ...] = (ValueError, ListenError, accounts.AccountError)
    refused += OPEN_ERRORS
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run(args)
    except refused as exc:
        print(f"lab observatory: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except OSError as exc:  # a hook port taken, a folder that cannot be written
        print(f"lab observatory: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
