"""Alerts: rules that open a *suspected* incident when a detected event first matches one,
and keep that incident up to date as the event changes.

The rules are a TOML file (`netvigil serve --alerts FILE`):

    org = "Example Observatory"     # who opens the incidents: an organisation's name or id

    [[rule]]
    name = "Iran: cuts"
    entity = "country:IR"           # exactly, or a prefix ending in *: "region:IR-*", "asn:*"
    kinds = ["shutdown", "outage"]  # default: every kind
    min_confidence = 0.8            # 0 to 1, default 0
    min_level = "critical"          # warning (default) or critical
    visibility = "coalition"        # the incident's sharing: draft (default), named, group,
    recipients = []                 #   coalition or federated; named takes organisation ids,
    sharing_group = ""              #   group a sharing group's id

The first rule that matches decides the incident's sharing. `public` is refused: publishing
needs two people (ecosystem.md §3.3), and a machine is neither. The incident goes through
the incidents service like any other (incidents/service.py), so its webhook events
(`incident.created`, then `incident.updated`) reach exactly the subscriptions that may read
it, signed. One incident per event line: its id is a UUID derived from the instance and the
lineage (the first event id of the line, observatory/eventstore.py), so a change handed on
twice (a restart) finds the incident it opened and opens no other. A withdrawn event, or a
retracted incident, is left as it is: people decide what to do with what they shared.
"""

from __future__ import annotations

import sys
import tomllib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, get_args

import msgspec

from netvigil.detect.model import EntityError, Event, Kind, Level, entity
from netvigil.incidents import store
from netvigil.incidents.access import OPERATOR
from netvigil.incidents.detected import input_of, opened, revised, same
from netvigil.incidents.errors import NotFound
from netvigil.incidents.levels import Level as Sharing
from netvigil.incidents.model import Incident
from netvigil.incidents.service import Incidents

LEVELS = {level: n for n, level in enumerate(get_args(Level))}  # warning < critical


class AlertRulesError(ValueError):
    """A rules file that cannot be used; the message is one line."""


class Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    entity: str
    kinds: tuple[Kind, ...] = ()
    min_confidence: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    min_level: Level = "warning"
    visibility: str = "draft"
    recipients: tuple[str, ...] = ()
    sharing_group: str = ""

    def matches(self, event: Event) -> bool:
        wanted = self.entity
        place = (
            event.entity.startswith(wanted[:-1]) if wanted.endswith("*") else event.entity == wanted
        )
        return (
            place
            and (not self.kinds or event.kind in self.kinds)
            and event.confidence >= self.min_confidence
            and LEVELS[event.level] >= LEVELS[self.min_level]
        )


class Rules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    org: Annotated[str, msgspec.Meta(min_length=1)]
    rule: tuple[Rule, ...]


def _check(rule: Rule, n: int) -> None:
    where = f"rule[{n}] ({rule.name})"
    if rule.entity.endswith("*"):
        if (
            rule.entity.partition(":")[0] not in ("country", "region", "asn")
            or ":" not in rule.entity
        ):
            raise AlertRulesError(f"{where}.entity: a prefix is country:, region: or asn: then *")
    else:
        try:
            entity(rule.entity)
        except EntityError as exc:
            raise AlertRulesError(f"{where}.entity: {exc}") from None
    try:
        level = Sharing.parse(rule.visibility)
    except ValueError as exc:
        raise AlertRulesError(f"{where}.visibility: {exc}") from None
    if level is Sharing.PUBLIC:
        raise AlertRulesError(
            f"{where}.visibility: an alert shares at most at federated level; publishing "
            "to public needs two people"
        )
    if level is Sharing.NAMED and not rule.recipients:
        raise AlertRulesError(f"{where}.recipients: a named incident needs organisations")
    if level is Sharing.GROUP and not rule.sharing_group:
        raise AlertRulesError(f"{where}.sharing_group: a group incident needs a group")


def load_rules(path: Path) -> Rules:
    """The rules in a TOML file; AlertRulesError (one line) for a file that cannot be used."""
    try:
        rules = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), Rules)
    except OSError as exc:
        raise AlertRulesError(f"{path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AlertRulesError(f"{path}: not TOML: {exc}".splitlines()[0]) from None
    except msgspec.ValidationError as exc:
        raise AlertRulesError(f"{path}: {exc}".splitlines()[0]) from None
    if not rules.rule:
        raise AlertRulesError(f"{path}: no [[rule]]")
    for n, rule in enumerate(rules.rule):
        try:
            _check(rule, n)
        except AlertRulesError as exc:
            raise AlertRulesError(f"{path}: {exc}") from None
    return rules


class Alerts:
    def __init__(self, service: Incidents, rules: Rules) -> None:
        """Raises AlertRulesError when an organisation or group the rules name is not here."""
        self.service, self.rules = service, rules
        with service.engine.connect() as connection:
            names = store.org_names(connection)
            by_name = {name: ident for ident, name in names.items()}
            self.org = rules.org if rules.org in names else by_name.get(rules.org, "")
            if not self.org:
                raise AlertRulesError(f"alerts: no organisation {rules.org!r} on this instance")
            for rule in rules.rule:
                missing = set(rule.recipients) - store.org_ids(connection, list(rule.recipients))
                if missing:
                    raise AlertRulesError(
                        f"alerts: rule {rule.name!r}: no organisation {min(missing)!r}"
                    )
                if rule.sharing_group and not store.group_exists(connection, rule.sharing_group):
                    raise AlertRulesError(
                        f"alerts: rule {rule.name!r}: no group {rule.sharing_group!r}"
                    )

    def incident_id(self, lineage: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.service.instance}/events/{lineage}"))

    def _held(self, uid: str) -> bool:
        return self.service.evidence.sha256("measurement", uid) is not None

    def handle(
        self, event: Event, *, lineage: str, countries: Sequence[str], withdrawn: bool = False
    ) -> Incident | None:
        """Open or revise the incident of the event's line; the new revision, or None when
        nothing was to be done (no rule matches, nothing changed, or the event was withdrawn)."""
        ident = self.incident_id(lineage)
        try:
            current = self.service.get(OPERATOR, ident)
        except NotFound:
            current = None
        if withdrawn or (current is not None and current.status == "retracted"):
            return None
        if current is None:
            rule = next((r for r in self.rules.rule if r.matches(event)), None)
            if rule is None:
                return None
            data = opened(
                event,
                lineage=lineage,
                countries=countries,
                instance=self.service.instance,
                held=self._held,
                visibility=rule.visibility,
                recipients=rule.recipients,
                sharing_group=rule.sharing_group or None,
            )
            if not data.countries:  # an incident names a country; say why none was opened
                print(f"alerts: {event.id}: no known country for {event.entity}", file=sys.stderr)
                return None
            return self.service.create(OPERATOR, data, org=self.org, ident=ident)
        now = input_of(current)
        machine = opened(
            event,
            lineage=lineage,
            countries=now.countries,
            instance=self.service.instance,
            held=self._held,
            visibility=now.visibility,
        )
        data = revised(now, machine, self.service.instance)
        return None if same(data, now) else self.service.revise(OPERATOR, ident, data)
