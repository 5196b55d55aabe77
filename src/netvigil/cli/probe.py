"""`netvigil probe`: the command-line adapter around the runner (no measuring logic here).

Order of a run: data folder, informed consent (nothing is measured without it), inputs,
the probe's address and location, the resolver's identity (one whoami lookup for the whole
run), the run itself with a progress bar, then a summary table from the layered verdicts.
Measurements are written as OONI JSONL to `--output` and to the data folder's results,
each line scrubbed of the probe's address before it touches the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
from pathlib import Path

from rich.markup import escape

from netvigil.addresses import Bogons
from netvigil.cli.console import err, fail, open_data_dir
from netvigil.cli.probe_execute import Work, execute
from netvigil.cli.probe_nettests import (
    EndpointOpt,
    TestOpt,
    TorBinaryOpt,
    configured,
    file_lines,
    nettest_inputs,
    plan_run,
)
from netvigil.cli.probe_options import (
    AcceptRisksOpt,
    AsJsonOpt,
    CaFileOpt,
    CategoryOpt,
    CountryOpt,
    DataDirOpt,
    GeoipDbOpt,
    InputFileOpt,
    InputUrlsOpt,
    LabNetworkOpt,
    MaxRuntimeOpt,
    OutputOpt,
    ParallelismOpt,
    ProbeIpOpt,
    ProbeServicesOpt,
    ResolverOpt,
    SourceAddressOpt,
    SystemResolverOpt,
    TestListOpt,
    ThOpt,
    UploadToOpt,
    check_options,
    host_port,
    inputs_of,
    is_http_url,
)
from netvigil.cli.probe_summary import print_summary, verdict_json
from netvigil.cli.results import upload_hint, upload_results, where_results_went
from netvigil.datadir import DataDir
from netvigil.geoip import GeoIP
from netvigil.net.backend import AsyncioBackend, Backend, StubResolverBackend
from netvigil.probe import consent, nettest
from netvigil.probe.control import missing_control_warning
from netvigil.probe.location import UNKNOWN, learn_address, locate
from netvigil.probe.nettest_runner import NettestConfig
from netvigil.probe.runner import DEFAULT_PARALLELISM, RunConfig
from netvigil.probe.webconnectivity import Settings
from netvigil.probe.whoami import learn_resolver
from netvigil.records import WebMeasurement
from netvigil.scrub import Scrubber


def _require_consent(folder: DataDir, accept_risks: bool) -> None:
    if consent.load(folder.root) is not None:
        return
    now = dt.datetime.now(dt.UTC)
    if accept_risks:
        consent.record(folder.root, now=now, method="flag")
        return
    if not sys.stdin.isatty():
        raise fail(
            "informed consent is needed before the first measurement: run `netvigil probe run` "
            "in a terminal to read the risks and answer two questions, or pass --accept-risks",
            3,
        )
    if not consent.run_quiz(lambda prompt: input(prompt), lambda text: print(text)):
        raise fail("consent not given: nothing was measured", 3)
    consent.record(folder.root, now=now, method="quiz")


def run_command(
    test: TestOpt = [],  # noqa: B006
    endpoint: EndpointOpt = [],  # noqa: B006
    input_urls: InputUrlsOpt = [],  # noqa: B006
    input_file: InputFileOpt = None,
    test_list: TestListOpt = None,
    category: CategoryOpt = [],  # noqa: B006
    country: CountryOpt = None,
    output: OutputOpt = None,
    th: ThOpt = [],  # noqa: B006
    resolver: ResolverOpt = None,
    ca_file: CaFileOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    max_runtime: MaxRuntimeOpt = None,
    accept_risks: AcceptRisksOpt = False,
    as_json: AsJsonOpt = False,
    probe_ip: ProbeIpOpt = None,
    geoip_db: GeoipDbOpt = None,
    data_dir: DataDirOpt = None,
    system_resolver: SystemResolverOpt = None,
    source_address: SourceAddressOpt = None,
    lab_network: LabNetworkOpt = [],  # noqa: B006
    upload_to: UploadToOpt = None,
    probe_services: ProbeServicesOpt = None,
    tor_binary: TorBinaryOpt = None,
) -> None:
    """Measure websites (web_connectivity: DNS, TCP, TLS and HTTP, compared with a test
    helper's view), messaging apps, circumvention tools and more (--test).

    Results go to the data folder (one result per run, see `netvigil probe list`) and to
    --output; the end of the run says where, with their ids, and how to upload them.
    """
    checked = check_options(resolver, max_runtime, ca_file, geoip_db)  # before any change
    plan = plan_run(
        test,
        endpoint,
        tor_binary,
        urls_given=bool(input_urls or input_file),
        lists_given=bool(test_list or country or category),
    )
    folder = open_data_dir(data_dir)
    _require_consent(folder, accept_risks)
    urls = _web_urls(input_urls, input_file, test_list, category, country) if plan.web else []
    lines = file_lines(input_file) if input_file and plan.nettests else []
    work = Work(
        urls=urls, inputs={n.name: nettest_inputs(n, input_urls, lines) for n in plan.nettests}
    )
    backend: Backend = (
        StubResolverBackend(host_port(system_resolver, 53), source=source_address)
        if system_resolver
        else AsyncioBackend(source=source_address)
    )
    for flag, url in (("--upload", upload_to), ("--probe-services", probe_services)):
        if url is not None and not is_http_url(url):
            raise fail(f"{flag}: expected an http:// or https:// URL, got {url!r}")
    services = probe_services or upload_to
    learnt, warning = None, None
    if probe_ip is None and services is not None:
        ca = str(ca_file) if ca_file else None
        learnt, warning = asyncio.run(learn_address(backend, services, ca))
    address = probe_ip or (learnt.address if learnt else None)
    try:
        bogons = Bogons.with_lab(lab_network)
        scrubber = Scrubber([address] if address else [], lab=bogons.lab_networks)
    except ValueError as exc:
        raise fail(str(exc).splitlines()[0]) from None
    database = geoip_db or folder.geoip_database()
    if warning is not None:  # no address: one warning, saying why
        location, warning = UNKNOWN, f"{warning}; writing ZZ/AS0"
    elif learnt is not None and database is None:
        location = learnt.location  # the server's lookup of our address
    else:
        location, warning = locate(address, database)
    if warning is not None:
        err.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    # Once per run, for every nettest of it, through the run's own backend (probe/whoami.py).
    identity = asyncio.run(learn_resolver(backend, scrubber, database=database, bogon=bogons))
    settings = Settings(
        resolver=checked.resolver,
        test_helpers=tuple(th),
        ca_file=checked.ca_file,
    )
    config = RunConfig(
        settings=settings,
        location=location,
        parallelism=parallelism,
        max_runtime=max_runtime,
        resolver_identity=identity,
    )
    other = NettestConfig(
        settings=nettest.Settings(ca_file=checked.ca_file, tor_binary=tor_binary),
        endpoints=plan.endpoints,
        location=location,
        parallelism=min(parallelism, 8),
        max_runtime=max_runtime,
        resolver_identity=identity,
    )
    describe = verdict_json(scrubber, bogons) if as_json else None
    with contextlib.ExitStack() as stack:
        geo = stack.enter_context(GeoIP(database)) if database and plan.nettests else None
        told = configured(plan, bogon=bogons, asn_of=geo.asn_of if geo else None)
        results, result_file = execute(
            told, work, backend, (config, other), scrubber, folder, output, describe
        )
    web = [m for m in results if isinstance(m, WebMeasurement)]
    if (no_control := missing_control_warning(web)) is not None:
        err.print(f"[yellow]warning:[/yellow] {escape(no_control)}", soft_wrap=True)
    print_summary(results, bogons, as_json)
    where_results_went(results, result_file, output)
    if upload_to is not None:
        upload_results([result_file], upload_to, backend, folder, checked.ca_file)
    elif results:
        err.print(
            f"not uploaded: submit them with `{upload_hint(folder)}`", soft_wrap=True, markup=False
        )


def _web_urls(
    urls: list[str],
    input_file: Path | None,
    test_list: Path | None,
    category: list[str],
    country: str | None,
) -> list[str]:
    """web_connectivity's URLs; a malformed one is skipped with a line saying why."""
    targets = inputs_of(urls, input_file, test_list, category, country)
    for problem in targets.problems:
        where = problem.source + (f":{problem.line}" if problem.line else "")
        err.print(
            f"[yellow]skipped:[/yellow] {where}: {problem.value!r}: {problem.reason}",
            soft_wrap=True,
        )
    if not targets.targets:
        raise fail("nothing to measure: give --input, --input-file, --test-list or --country")
    return [t.url for t in targets.targets]
